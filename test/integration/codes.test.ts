import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SimLocker } from '../../cli/sim-locker.ts';
import { FREE_FAILURES } from '../../devices/index.ts';
import { eventually, startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';
import { useCode } from '../helpers/parcels.ts';

let t: TestHub;
let box: SimLocker;
let town: SimLocker;
let clock: number;

beforeEach(async () => {
  clock = Date.now();
  t = await startTestHub({ now: () => clock });
  box = await t.locker({ site: 'ferme-du-pic', locker: 'box-1' }, 'rural-box-8');
  town = await t.locker({ site: 'lyon', locker: 'town-1' }, 'town-locker-16');
});
afterEach(() => t.close());

async function parcel(lockerId = 'box-1', extra: Record<string, unknown> = {}) {
  const res = await t.api(
    'POST',
    '/api/v1/parcels',
    { lockerId, size: 'S', temperatureClass: 'ambient', recipient: { name: 'Ada' }, ...extra },
    t.integration,
  );
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { parcel: { id: string; door: number }; depositCode: string; pickupCode: string };
}

/** Types a code and returns what the keypad displayed; fails if any door was released. */
async function refused(locker: SimLocker, code: string): Promise<string> {
  const before = locker.received.filter((c) => c.type === 'unlock').length;
  const shown = waitFor<[{ type: string; text?: string }]>(locker, 'command', (c) => c.type === 'display');
  locker.pressCode(code);
  const [cmd] = await shown;
  expect(locker.received.filter((c) => c.type === 'unlock').length).toBe(before);
  return cmd.text ?? '';
}

async function rejections(): Promise<string[]> {
  const res = await t.api('GET', '/api/v1/events?type=code.rejected');
  return res.body.events.map((e: { data: { reason: string } }) => e.data.reason);
}

describe('codes that must open nothing', () => {
  it('refuses an unknown code', async () => {
    await parcel();
    expect(await refused(box, '00000000')).toBe('Invalid code');
    expect(await rejections()).toEqual(['unknown']);
  });

  it("refuses another locker's code at this locker", async () => {
    const p = await parcel('town-1');
    expect(await refused(box, p.depositCode)).toBe('Invalid code');
    expect(await rejections()).toEqual(['wrong_locker']);
  });

  it('refuses a deposit code once used, even after the deposit', async () => {
    const p = await parcel();
    await useCode(box, p.depositCode, p.parcel.door);
    await eventually(
      async () => (await t.api('GET', `/api/v1/parcels/${p.parcel.id}`)).body.state === 'stored',
    );
    expect(await refused(box, p.depositCode)).toBe('Invalid code');
    expect(await rejections()).toEqual(['used']);
  });

  it('refuses a pickup code once the parcel is collected', async () => {
    const p = await parcel();
    await useCode(box, p.depositCode, p.parcel.door);
    await eventually(
      async () => (await t.api('GET', `/api/v1/parcels/${p.parcel.id}`)).body.state === 'stored',
    );
    await useCode(box, p.pickupCode, p.parcel.door);
    await eventually(
      async () => (await t.api('GET', `/api/v1/parcels/${p.parcel.id}`)).body.state === 'picked_up',
    );
    expect(await refused(box, p.pickupCode)).toBe('Invalid code');
    expect(await rejections()).toEqual(['used']);
  });

  it('refuses an expired deposit code', async () => {
    const p = await parcel('box-1', { depositExpiresAt: clock + 60_000 });
    clock += 61_000;
    expect(await refused(box, p.depositCode)).toBe('Code expired');
    expect(await rejections()).toEqual(['expired']);
  });

  it('refuses an expired pickup code', async () => {
    const p = await parcel('box-1', { pickupWindowHours: 1 });
    await useCode(box, p.depositCode, p.parcel.door);
    await eventually(
      async () => (await t.api('GET', `/api/v1/parcels/${p.parcel.id}`)).body.state === 'stored',
    );
    clock += 3_600_001;
    expect(await refused(box, p.pickupCode)).toBe('Code expired');
  });

  it('locks the keypad after repeated failures, even for a valid code, until the lockout ends', async () => {
    const p = await parcel();
    for (let i = 0; i <= FREE_FAILURES; i++) await refused(box, `1111111${i}`);
    expect(await refused(box, p.depositCode)).toBe('Too many attempts, wait');
    expect((await rejections()).at(-1)).toBe('throttled');
    // Other lockers are not affected.
    const q = await parcel('town-1');
    await useCode(town, q.depositCode, q.parcel.door);
    clock += 15 * 60_000;
    await useCode(box, p.depositCode, p.parcel.door);
    await eventually(
      async () => (await t.api('GET', `/api/v1/parcels/${p.parcel.id}`)).body.state === 'stored',
    );
  });

  it('keeps the keypad locked across a hub restart', async () => {
    const p = await parcel();
    for (let i = 0; i <= FREE_FAILURES; i++) await refused(box, `1111111${i}`);
    await t.restart();
    const online = () => t.hub.db.prepare('SELECT online FROM lockers WHERE id = ?').pluck().get('box-1');
    await eventually(() => online() === 1, 5000, 'box-1 back online');
    expect(await refused(box, p.depositCode)).toBe('Too many attempts, wait');
    clock += 15 * 60_000;
    await useCode(box, p.depositCode, p.parcel.door);
    await eventually(
      async () => (await t.api('GET', `/api/v1/parcels/${p.parcel.id}`)).body.state === 'stored',
    );
  });
});

describe('a code whose door never opened', () => {
  it('releases the same door again if typed before anyone opened it', async () => {
    const p = await parcel();
    const first = waitFor(box, 'unlocked');
    box.pressCode(p.depositCode);
    await first;
    // nobody pulled the door; the latch dropped back
    await useCode(box, p.depositCode, p.parcel.door);
    await eventually(
      async () => (await t.api('GET', `/api/v1/parcels/${p.parcel.id}`)).body.state === 'stored',
    );
  });

  it('re-sends an unanswered unlock with the same id, and gives the code back when it expires', async () => {
    // A driver that waits long for the board: the hub's expiry comes before the bridge's answer.
    const slow = await t.locker({ site: 'ferme-du-pic', locker: 'box-2' }, 'rural-box-8', {
      replyTimeoutMs: 60_000,
    });
    const p = await parcel('box-2');
    // The board's firmware is wedged: its link still acknowledges frames, its relays do nothing.
    slow.faults.ignoreCommands = true;
    const first = waitFor<[{ id: string; type: string }]>(slow, 'received', (c) => c.type === 'unlock');
    slow.pressCode(p.depositCode);
    const [unlock] = await first;
    clock += 4_000; // past the re-send delay on the hub's clock
    const resent = waitFor<[{ id: string }, boolean]>(slow, 'received', (c) => c.id === unlock.id);
    await t.hub.tick(); // the dispatcher's round
    const [, duplicate] = await resent;
    expect(duplicate).toBe(true); // the bridge is still at it: it does not start it again
    clock += 30_000; // past the command's expiry
    await t.hub.tick();
    expect((await t.api('GET', `/api/v1/commands/${unlock.id}`)).body.state).toBe('expired');
    expect((await t.api('GET', '/api/v1/events?type=command.expired')).body.events).toHaveLength(1);
    expect(slow.board.unlocked).toEqual([]);
    slow.faults.ignoreCommands = false;
    await useCode(slow, p.depositCode, p.parcel.door);
    await eventually(
      async () => (await t.api('GET', `/api/v1/parcels/${p.parcel.id}`)).body.state === 'stored',
    );
  });

  it('records the failure when the board never confirms an unlock, and gives the code back', async () => {
    const p = await parcel();
    box.faults.ignoreCommands = true;
    const first = waitFor<[{ id: string; type: string }]>(box, 'received', (c) => c.type === 'unlock');
    const answered = waitFor<[{ id: string; type: string }, { ok: boolean; error?: string }]>(
      box,
      'command',
      (c) => c.type === 'unlock',
    );
    box.pressCode(p.depositCode);
    const [unlock] = await first;
    const [, result] = await answered;
    expect(result).toMatchObject({ ok: false, error: expect.stringContaining('lockResult') });
    await eventually(
      async () => (await t.api('GET', `/api/v1/commands/${unlock.id}`)).body.state === 'failed',
    );
    expect((await t.api('GET', '/api/v1/events?type=command.failed')).body.events).toHaveLength(1);
    box.faults.ignoreCommands = false;
    await useCode(box, p.depositCode, p.parcel.door);
    await eventually(
      async () => (await t.api('GET', `/api/v1/parcels/${p.parcel.id}`)).body.state === 'stored',
    );
  });
});
