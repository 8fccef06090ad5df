/**
 * A code created while its cabinet is online reaches the bridge's offline table at the hub's next
 * code-table tick (250 ms), across hub restarts too (docs/protocol.md §3.2): the hub keeps the
 * clock here, so the bound is one tick, not a wait.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimLocker } from '../../cli/sim-locker.ts';
import { reconnectDelay } from '../../firmware-bridge/bridge.ts';
import { eventually, startTestHub, type TestHub } from '../helpers/hub.ts';

let t: TestHub;
let box: SimLocker;

beforeEach(async () => {
  t = await startTestHub({ manualTicks: true });
  box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
  await t.hub.tick();
  await eventually(() => box.outbox.codeTable() !== undefined, 5000, 'first table');
});
afterEach(() => t.close());

const held = () => new Set(box.outbox.codeTable()?.entries.map((e) => e.h));
async function parcel(): Promise<void> {
  const res = await t.api(
    'POST',
    '/api/v1/parcels',
    { lockerId: 'box-1', size: 'M', temperatureClass: 'chilled', recipient: { name: 'Ada' } },
    t.integration,
  );
  expect(res.status).toBe(201);
}
/** The offline hashes the hub would publish for the cabinet now. */
const current = () =>
  new Set(
    t.hub.db
      .prepare(
        `SELECT offline_hash FROM codes WHERE locker_id = 'box-1' AND state IN ('active', 'pending') AND offline_hash IS NOT NULL`,
      )
      .pluck()
      .all() as string[],
  );
const sameAs = (a: Set<string>, b: Set<string>) => a.size === b.size && [...a].every((h) => b.has(h));

describe('the offline code table on the bridge', () => {
  it('has a new code after one tick of the hub', async () => {
    await parcel();
    expect(held().size).toBe(0);
    await t.hub.tick();
    // Nothing more is ticked: only the network stands between the hub and the Pi now.
    await eventually(() => sameAs(held(), current()) && held().size === 2, 5000, 'deposit and pickup codes');
  });

  it('has a code created just before the hub stopped, one tick after the hub is back', async () => {
    await parcel(); // committed and answered, never published: the hub stops before its tick
    await t.restart();
    const online = t.hub.db.prepare(`SELECT online FROM lockers WHERE id = 'box-1'`).pluck();
    await eventually(() => online.get() === 1, 10_000, 'the cabinet back');
    await t.hub.tick();
    await eventually(
      () => sameAs(held(), current()) && held().size === 2,
      5000,
      'the table after the restart',
    );
  });

  it('sends its table again whenever it announces itself: a broker may have lost the retained copy', async () => {
    await parcel();
    await t.hub.tick();
    await eventually(() => held().size === 2, 5000, 'published');
    const published = t.hub.db.prepare(
      `SELECT codes_published, codes_version FROM lockers WHERE id = 'box-1'`,
    );
    // Two codes created, then their two offline hashes stored: four changes, all published.
    expect(published.get()).toEqual({ codes_published: 4, codes_version: 4 });
    // A new Pi in the cabinet (an empty store), on a broker that kept nothing: it announces itself…
    await box.stop();
    const fresh = new SimLocker({ ...box.opts, dataDir: undefined });
    await fresh.start();
    await eventually(() => fresh.connected, 5000, 'the new Pi connected');
    // …and the hub marks its table to go again at the next tick.
    await eventually(
      () => (published.get() as { codes_published: number }).codes_published === -1,
      5000,
      'marked',
    );
    await t.hub.tick();
    await eventually(() => fresh.outbox.codeTable()?.entries.length === 2, 5000, 'the new Pi has the codes');
    await fresh.stop();
  });
});

describe('reconnecting to the hub', () => {
  it('never waits more than the cap between attempts, so a hub back is found within seconds', () => {
    for (let attempt = 1; attempt < 100; attempt++) {
      expect(reconnectDelay(attempt, 500, 5000, 1)).toBeLessThanOrEqual(5000);
      expect(reconnectDelay(attempt, 500, 5000, 0)).toBeGreaterThanOrEqual(250);
    }
    expect(reconnectDelay(1, 500, 5000, 1)).toBe(1000);
    expect(reconnectDelay(3, 500, 5000, 0)).toBe(2000);
  });
});
