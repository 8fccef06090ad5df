/**
 * Customers' notices are sent a hundred a round per channel. One platform's burst (a thousand
 * "ready" notices after a morning's deposits) must not hold back another platform's customer for
 * as many rounds: each round takes the platforms' oldest notices in turn. Before, it took the
 * hundred oldest of all, whoever they were for.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { startSmsGateway } from '../helpers/inbox.ts';

let t: TestHub;
let clock: number;
let gateway: Awaited<ReturnType<typeof startSmsGateway>>;

beforeEach(async () => {
  clock = Date.UTC(2026, 11, 7, 8, 0);
  gateway = await startSmsGateway();
  t = await startTestHub({ now: () => clock, manualTicks: true, sms: { url: gateway.url } });
  await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
});
afterEach(async () => {
  await t.close();
  await gateway.close();
});

const order = async (token: string) => {
  const res = await t.api(
    'POST',
    '/api/v1/parcels',
    {
      lockerId: 'box-1',
      size: 'S',
      temperatureClass: 'ambient',
      recipient: { name: 'x', phone: '+33612345678' },
    },
    token,
  );
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.parcel.id as string;
};

describe('notices to customers, across platforms', () => {
  it('reach a second platform’s customer in the first round, behind a hundred and one of the first’s', async () => {
    const other = await t.api('POST', '/api/v1/tokens', {
      role: 'integration',
      name: 'B',
      platform: 'other',
    });
    const burst = await order(t.integration);
    const lone = await order(other.body.token);
    await t.hub.tick(); // what the orders themselves call for, if anything, is out of the way
    // Queued as the ledger would queue them, oldest first: the burst, then the other's one. They
    // are "ready" notices for a door the parcel is not at, so a round drops each without sending.
    const queue = t.hub.db.prepare(
      `INSERT INTO customer_notices (parcel_id, notice, about, channel, address, language, cause_seq, state, next_attempt_at, created_at)
       VALUES (?, 'ready', ?, 'sms', '+33612345678', 'fr', 1, 'pending', ?, ?)`,
    );
    t.hub.db.transaction(() => {
      for (let i = 0; i < 101; i++) queue.run(burst, `door-${i}`, clock, clock - 1000 + i);
      queue.run(lone, 'door-x', clock, clock);
    })();
    const pending = (parcel: string) =>
      t.hub.db
        .prepare(`SELECT count(*) FROM customer_notices WHERE parcel_id = ? AND state = 'pending'`)
        .pluck()
        .get(parcel) as number;
    await t.hub.tick(); // one round
    expect(pending(lone)).toBe(0);
    expect(pending(burst)).toBe(2); // 99 of the burst's in this round, the other's first
  });
});
