/**
 * Commands reach the real bridge once: a keypad's unlock is published by its creator once the
 * commit is on disk, and the dispatcher's round meanwhile (a slow disk) does not publish it again.
 * The test holds the store's syncs and ticks the hub itself.
 */
import { fdatasync } from 'node:fs';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { SimLocker } from '../../cli/sim-locker.ts';
import { eventually, startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';

let t: TestHub;
let box: SimLocker;
let hold = false;
let held: Array<(err: NodeJS.ErrnoException | null) => void> = [];
const release = () => {
  hold = false;
  for (const done of held.splice(0)) done(null);
};

beforeEach(async () => {
  hold = false;
  held = [];
  t = await startTestHub({
    manualTicks: true,
    syncWal: (fd, done) => (hold ? held.push(done) : fdatasync(fd, done)),
  });
  box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
});
afterEach(async () => {
  release();
  await t.close();
});

it('publishes a keypad unlock once, though the dispatcher ticks while its commit waits for the disk', async () => {
  const res = await t.api(
    'POST',
    '/api/v1/parcels',
    { lockerId: 'box-1', size: 'M', temperatureClass: 'chilled', recipient: { name: 'Ada' } },
    t.integration,
  );
  expect(res.status).toBe(201);
  const { parcel, depositCode } = res.body as { parcel: { id: string; door: number }; depositCode: string };
  hold = true;
  box.pressCode(depositCode);
  const unlocks = t.hub.db.prepare(`SELECT id FROM commands WHERE type = 'unlock'`).pluck();
  await eventually(() => unlocks.all().length === 1, 5000, 'the unlock committed');
  await eventually(() => held.length > 0, 5000, 'its sync held');
  // A dispatcher round inside the sync's window, then the disk answers.
  await t.hub.tick();
  const unlocked = waitFor<[number]>(box, 'unlocked', (d) => d === parcel.door);
  release();
  await unlocked;
  const [id] = unlocks.all() as string[];
  await eventually(
    () => t.hub.db.prepare('SELECT state FROM commands WHERE id = ?').pluck().get(id) === 'done',
    5000,
    'the unlock done',
  );
  // Once, and the bridge answered it once: no 'interrupted' failure for a door that opened.
  expect(box.received.filter((c) => c.id === id)).toHaveLength(1);
  expect(t.hub.db.prepare(`SELECT count(*) FROM events WHERE type = 'command.failed'`).pluck().get()).toBe(0);
});
