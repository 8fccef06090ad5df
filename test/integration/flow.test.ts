import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SimLocker } from '../../cli/sim-locker.ts';
import { eventually, startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';
import { orderParcel } from '../helpers/parcels.ts';

let t: TestHub;
let box: SimLocker;

beforeEach(async () => {
  t = await startTestHub();
  box = await t.locker({ site: 'ferme-du-pic', locker: 'box-1' }, 'rural-box-8');
});
afterEach(() => t.close());

const createParcel = (body: Record<string, unknown> = {}) =>
  orderParcel(t, { recipient: { name: 'Camille' }, ...body });

/** A person types a code, waits for the latch, opens and closes the door. */
async function useCode(code: string, door: number) {
  const unlocked = waitFor<[number, string]>(box, 'unlocked', (d) => d === door);
  box.pressCode(code);
  await unlocked;
  expect(box.openDoor(door)).toBe(true);
  box.closeDoor(door);
}

const parcelState = async (id: string) => (await t.api('GET', `/api/v1/parcels/${id}`)).body;

describe('a parcel from deposit to pickup', () => {
  it('opens exactly the reserved door for the deposit code, then for the pickup code, and records every step', async () => {
    const { parcel, depositCode, pickupCode } = await createParcel();
    expect(parcel.state).toBe('reserved');
    expect(depositCode).toMatch(/^\d{8}$/);
    expect(pickupCode).toMatch(/^\d{8}$/);
    expect(pickupCode).not.toBe(depositCode);

    // The pickup code opens nothing before the goods are in.
    const early = waitFor<[{ type: string; text?: string }]>(box, 'command', (c) => c.type === 'display');
    box.pressCode(pickupCode);
    expect((await early)[0].text).toBe('Code not valid yet');

    await useCode(depositCode, parcel.door);
    const stored = await eventually(async () => {
      const p = await parcelState(parcel.id);
      return p.state === 'stored' && p;
    });
    expect(stored.storedAt).toBeTypeOf('number');
    expect(stored.pickupExpiresAt).toBeGreaterThan(stored.storedAt);

    const locker = (await t.api('GET', '/api/v1/lockers/box-1')).body;
    const comp = locker.compartments.find((c: { door: number }) => c.door === parcel.door);
    expect(comp).toMatchObject({
      occupied: true,
      doorState: 'closed',
      parcel: { id: parcel.id, state: 'stored' },
    });

    await useCode(pickupCode, parcel.door);
    const done = await eventually(async () => {
      const p = await parcelState(parcel.id);
      return p.state === 'picked_up' && p;
    });
    const types = done.timeline.map((e: { type: string }) => e.type);
    expect(types).toEqual([
      'parcel.reserved',
      'code.rejected',
      'code.accepted',
      'door.opened',
      'door.closed',
      'parcel.stored',
      'code.accepted',
      'door.opened',
      'door.closed',
      'parcel.picked_up',
    ]);
    for (const e of done.timeline.slice(2)) {
      expect(e.lockerId).toBe('box-1');
      expect(e.door).toBe(parcel.door);
      expect(e.actor).toBe('device:box-1');
    }
    // Only the reserved door was ever released.
    const unlocks = box.received.filter((c) => c.type === 'unlock');
    expect(new Set(unlocks.map((c) => (c as { door: number }).door))).toEqual(new Set([parcel.door]));
    // The compartment is free again: the next parcel of that kind gets it.
    const free = (await t.api('GET', '/api/v1/lockers/box-1')).body.compartments.find(
      (c: { door: number }) => c.door === parcel.door,
    );
    expect(free).toMatchObject({ occupied: false, parcel: null });
    expect((await t.api('GET', '/api/v1/audit/verify')).body).toMatchObject({ ok: true });
  });

  it('never stores a typed code in clear', async () => {
    const { depositCode, parcel } = await createParcel();
    await useCode(depositCode, parcel.door);
    await eventually(async () => (await parcelState(parcel.id)).state === 'stored');
    const dump = t.hub.db.prepare("SELECT group_concat(body, '') AS b FROM device_events").get() as {
      b: string;
    };
    const ledger = t.hub.db.prepare("SELECT group_concat(data, '') AS d FROM events").get() as { d: string };
    expect(dump.b).not.toContain(depositCode);
    expect(ledger.d).not.toContain(depositCode);
  });
});

describe('remote open by an operator', () => {
  it('releases exactly that door, records who and why, and tracks the command to its result', async () => {
    const unlocked = waitFor<[number, string]>(box, 'unlocked');
    const res = await t.api('POST', '/api/v1/lockers/box-1/compartments/4/open', {
      reason: 'customer locked out, called support',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const [door] = await unlocked;
    expect(door).toBe(4);
    box.openDoor(4);
    box.closeDoor(4);
    await eventually(
      async () => (await t.api('GET', `/api/v1/commands/${res.body.commandId}`)).body.state === 'done',
    );
    // The result and the door's events travel separately: wait for the door to be shut again.
    const ledger = async () => (await t.api('GET', '/api/v1/events?lockerId=box-1')).body.events;
    await eventually(async () => (await ledger()).some((e: { type: string }) => e.type === 'door.closed'));
    const events = await ledger();
    const types = events.map((e: { type: string }) => e.type);
    expect(types).toEqual(
      expect.arrayContaining(['compartment.remote_open', 'command.done', 'door.opened', 'door.closed']),
    );
    const open = events.find((e: { type: string }) => e.type === 'compartment.remote_open');
    expect(open).toMatchObject({
      door: 4,
      data: { reason: 'customer locked out, called support', operator: 'test operator' },
    });
    expect(box.received.filter((c) => c.type === 'unlock')).toHaveLength(1);
  });

  it('refuses without a reason, for other roles, and for an offline cabinet', async () => {
    expect((await t.api('POST', '/api/v1/lockers/box-1/compartments/4/open', {})).status).toBe(400);
    expect(
      (await t.api('POST', '/api/v1/lockers/box-1/compartments/4/open', { reason: 'because' }, t.integration))
        .status,
    ).toBe(403);
    expect(
      (await t.api('POST', '/api/v1/lockers/box-1/compartments/99/open', { reason: 'because' })).body.error
        .code,
    ).toBe('HUB_ERR_COMPARTMENT_NOT_FOUND');
    await box.stop();
    await eventually(async () => !(await t.api('GET', '/api/v1/lockers/box-1')).body.online);
    const offline = await t.api('POST', '/api/v1/lockers/box-1/compartments/4/open', { reason: 'because' });
    expect(offline.status).toBe(503);
    expect(offline.body.error.code).toBe('HUB_ERR_LOCKER_OFFLINE');
  });
});

describe('allocation', () => {
  it('picks the smallest fitting free compartment of the class, and says so when none is left', async () => {
    const first = await createParcel({ size: 'S', temperatureClass: 'ambient' });
    expect(first.parcel.door).toBe(7); // the box has only L ambient doors: S fits in L
    await createParcel({ size: 'S', temperatureClass: 'ambient' });
    const full = await t.api(
      'POST',
      '/api/v1/parcels',
      { lockerId: 'box-1', size: 'S', temperatureClass: 'ambient', recipient: { name: 'Zoé' } },
      t.integration,
    );
    expect(full.status).toBe(409);
    expect(full.body.error).toMatchObject({
      code: 'HUB_ERR_NO_COMPARTMENT',
      message: expect.stringContaining('ambient'),
    });
    const bySite = await t.api(
      'POST',
      '/api/v1/parcels',
      { siteId: 'ferme-du-pic', size: 'M', temperatureClass: 'frozen', recipient: { name: 'Zoé' } },
      t.integration,
    );
    expect(bySite.body.parcel).toMatchObject({ lockerId: 'box-1', door: 5, temperatureClass: 'frozen' });
    const sscc = await t.api(
      'POST',
      '/api/v1/parcels',
      {
        lockerId: 'box-1',
        size: 'M',
        temperatureClass: 'chilled',
        recipient: { name: 'Zoé' },
        sscc: '106141411234567890',
      },
      t.integration,
    );
    expect(sscc.status).toBe(400);
    expect(sscc.body.error.message).toContain('check digit');
    const labelled = await createParcel({ sscc: '106141411234567897', reference: 'order-778' });
    const found = await t.api('GET', '/api/v1/parcels?sscc=106141411234567897');
    expect(found.body.parcels.map((p: { id: string }) => p.id)).toEqual([labelled.parcel.id]);
    expect((await t.api('GET', '/api/v1/parcels?reference=order-778')).body.parcels).toHaveLength(1);
  });
});
