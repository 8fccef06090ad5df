import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SimLocker } from '../../cli/sim-locker.ts';
import { eventually, startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';
import { orderParcel, useCode } from '../helpers/parcels.ts';

let t: TestHub;
let box: SimLocker;
let clock: number;

beforeEach(async () => {
  clock = Date.now();
  // Deadlines are checked when the test ticks the hub, at the test's time.
  t = await startTestHub({ now: () => clock, manualTicks: true });
  box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
});
afterEach(() => t.close());

/** Frozen goods: a lane of their own in the box. */
const parcel = (extra: Record<string, unknown> = {}) =>
  orderParcel(t, { temperatureClass: 'frozen', ...extra });
const state = async (id: string) => (await t.api('GET', `/api/v1/parcels/${id}`)).body.state;
const compartment = async (door: number) =>
  (await t.api('GET', '/api/v1/lockers/box-1')).body.compartments.find(
    (c: { door: number }) => c.door === door,
  );

async function refusedWith(code: string): Promise<string> {
  const shown = waitFor<[{ type: string; text?: string }]>(box, 'command', (c) => c.type === 'display');
  box.pressCode(code);
  return (await shown)[0].text ?? '';
}

describe('deadlines', () => {
  it('expires a parcel never deposited and frees its compartment', async () => {
    const p = await parcel({ depositExpiresAt: clock + 60_000 });
    clock += 60_000 - 1;
    await t.hub.tick();
    expect(await state(p.parcel.id)).toBe('reserved');
    clock += 1;
    await t.hub.tick();
    expect(await state(p.parcel.id)).toBe('expired');
    expect(await compartment(p.parcel.door)).toMatchObject({ parcel: null, occupied: false });
    expect(await refusedWith(p.depositCode)).toBe('Code expired');
    const again = await parcel();
    expect(again.parcel.door).toBe(p.parcel.door);
  });

  it('expires an uncollected parcel but keeps its compartment until an operator retrieves the goods', async () => {
    const p = await parcel({ pickupWindowHours: 1 });
    await useCode(box, p.depositCode, p.parcel.door);
    await eventually(async () => (await state(p.parcel.id)) === 'stored');
    clock += 3_600_000;
    await t.hub.tick();
    expect(await state(p.parcel.id)).toBe('expired');
    expect(await compartment(p.parcel.door)).toMatchObject({ parcel: { id: p.parcel.id, state: 'expired' } });
    expect(await refusedWith(p.pickupCode)).toBe('Code expired');

    const unlocked = waitFor(box, 'unlocked');
    const open = await t.api('POST', `/api/v1/lockers/box-1/compartments/${p.parcel.door}/open`, {
      reason: 'uncollected, back to the farm',
      retrieve: true,
    });
    expect(open.status).toBe(202);
    await unlocked;
    box.openDoor(p.parcel.door);
    box.closeDoor(p.parcel.door);

    await eventually(async () => (await state(p.parcel.id)) === 'returned');
    expect(await compartment(p.parcel.door)).toMatchObject({ parcel: null });
  });
});

describe('cancellation', () => {
  it('cancels a reserved parcel: its codes stop working and its door is free', async () => {
    const p = await parcel();
    const res = await t.api(
      'POST',
      `/api/v1/parcels/${p.parcel.id}/cancel`,
      { reason: 'order cancelled by the customer' },
      t.integration,
    );
    expect(res.status).toBe(200);
    expect(res.body.state).toBe('cancelled');
    expect(await refusedWith(p.depositCode)).toBe('Invalid code');
    expect(await compartment(p.parcel.door)).toMatchObject({ parcel: null });
    const timeline = (await t.api('GET', `/api/v1/parcels/${p.parcel.id}`)).body.timeline;
    expect(timeline.map((e: { type: string }) => e.type)).toEqual([
      'parcel.reserved',
      'parcel.cancelled',
      'code.rejected',
    ]);
  });

  it('refuses to cancel a parcel whose goods are inside, and says what to do', async () => {
    const p = await parcel();
    await useCode(box, p.depositCode, p.parcel.door);
    await eventually(async () => (await state(p.parcel.id)) === 'stored');
    const res = await t.api(
      'POST',
      `/api/v1/parcels/${p.parcel.id}/cancel`,
      { reason: 'too late' },
      t.integration,
    );
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({
      code: 'HUB_ERR_INVALID_STATE',
      message: expect.stringContaining('retrieve'),
    });
  });
});

describe('pickup reminders', () => {
  it('reminds once, a day before the pickup deadline (half-way through a short window)', async () => {
    const p = await parcel({ pickupWindowHours: 30 });
    await useCode(box, p.depositCode, p.parcel.door);
    await eventually(async () => (await state(p.parcel.id)) === 'stored');
    const reminders = () =>
      t.hub.db
        .prepare(`SELECT data FROM events WHERE type = 'parcel.pickup_reminder'`)
        .pluck()
        .all() as string[];
    clock += 5 * 3_600_000;
    await t.hub.tick();
    expect(reminders()).toEqual([]);
    clock += 11 * 3_600_000; // 14 h left of 30: past half-way, since 30 h is less than two days
    await t.hub.tick();
    expect(reminders()).toHaveLength(1);
    const { pickupExpiresAt } = (await t.api('GET', `/api/v1/parcels/${p.parcel.id}`)).body;
    expect(JSON.parse(reminders()[0] as string)).toEqual({ pickupExpiresAt });
    clock += 3_600_000;
    await t.hub.tick();
    expect(reminders()).toHaveLength(1);
  });
});

describe('a door released that nobody opens', () => {
  const opening = async (door: number) =>
    (await t.api('GET', '/api/v1/lockers/box-1')).body.compartments.find(
      (c: { door: number }) => c.door === door,
    ).opening as string | null;
  const remoteOpen = (door: number, path = 'open') =>
    t.api('POST', `/api/v1/lockers/box-1/compartments/${door}/${path}`, { reason: 'checking the door' });

  it('returns to service by itself a minute after its release: an operator open, then a code', async () => {
    const unlocked = waitFor<[number]>(box, 'unlocked', (d) => d === 3);
    const opened = await remoteOpen(3);
    expect(opened.status).toBe(202);
    await unlocked; // released; nobody pulls the door
    const command = async () => (await t.api('GET', `/api/v1/commands/${opened.body.commandId}`)).body.state;
    await t.ticked(async () => (await command()) === 'done', 5000, 'the release confirmed');
    expect(await opening(3)).toBe('operator');
    clock += 59_000;
    await t.hub.tick();
    expect(await opening(3)).toBe('operator');
    clock += 2000;
    await t.ticked(async () => (await opening(3)) === null, 5000, 'back in service');
    const notOpened = t.hub.db
      .prepare(`SELECT count(*) FROM events WHERE type = 'door.not_opened'`)
      .pluck()
      .get() as number;
    expect(notOpened).toBe(1);
    expect((await remoteOpen(3)).status).toBe(202);

    // A producer's code: released, not opened; a minute on, the same code opens the door again.
    const p = await orderParcel(t, { temperatureClass: 'frozen' });
    const first = waitFor<[number]>(box, 'unlocked', (d) => d === p.parcel.door);
    box.pressCode(p.depositCode);
    await first;
    const latest = t.hub.db
      .prepare(`SELECT state FROM commands WHERE type = 'unlock' ORDER BY rowid DESC LIMIT 1`)
      .pluck();
    await t.ticked(() => latest.get() === 'done', 5000, 'the release confirmed');
    clock += 61_000;
    await t.ticked(async () => (await opening(p.parcel.door)) === null, 5000, 'back in service');
    await useCode(box, p.depositCode, p.parcel.door);
    await t.ticked(
      async () => (await t.api('GET', `/api/v1/parcels/${p.parcel.id}`)).body.state === 'stored',
    );
  });

  it('can be opened again or cancelled by an operator before that', async () => {
    const unlock = t.hub.db
      .prepare(`SELECT state FROM commands WHERE type = 'unlock' ORDER BY rowid DESC LIMIT 1`)
      .pluck();
    expect((await remoteOpen(4)).status).toBe(202);
    await t.ticked(async () => (await opening(4)) === 'operator');
    // Nobody there: the operator tries again, then gives up. Not before the cabinet has answered
    // the unlock: a copy on its way may still release the door.
    box.faults.ignoreCommands = true;
    expect((await remoteOpen(4)).status).toBe(202);
    const early = await remoteOpen(4, 'open/cancel');
    expect(early.status).toBe(409);
    expect(early.body.error.message).toMatch(/has not answered the unlock yet/);
    box.faults.ignoreCommands = false;
    await t.ticked(() => unlock.get() === 'failed', 5000, 'the unlock the board ignored failed');
    expect(await opening(4)).toBeNull(); // a failed open undoes itself
    expect((await remoteOpen(4)).status).toBe(202);
    await t.ticked(() => unlock.get() === 'done', 5000, 'released');
    const cancelled = await remoteOpen(4, 'open/cancel');
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(await opening(4)).toBeNull();
    expect((await remoteOpen(4, 'open/cancel')).status).toBe(409); // nothing to cancel
  });
});
