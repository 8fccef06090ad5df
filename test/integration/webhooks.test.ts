import { createServer, type Server } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SimLocker } from '../../cli/sim-locker.ts';
import { sign } from '../../hub/domain/notify/webhooks.ts';
import { eventually, startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';

interface Received {
  delivery: string;
  type: string;
  signature: string;
  timestamp: number;
  body: string;
}

let t: TestHub;
let clock: number;
let box: SimLocker;
let receiver: Server;
let received: Received[];
let failuresLeft: number;
let url: string;

beforeEach(async () => {
  received = [];
  failuresLeft = 2; // the receiver is down for its first two requests
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      if (failuresLeft-- > 0) {
        res.writeHead(503).end();
        return;
      }
      received.push({
        delivery: String(req.headers['x-casier-delivery']),
        type: String(req.headers['x-casier-event']),
        signature: String(req.headers['x-casier-signature']),
        timestamp: Number(req.headers['x-casier-timestamp']),
        body,
      });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/casier`;
  clock = Date.UTC(2026, 11, 7, 8, 0);
  t = await startTestHub({ now: () => clock, manualTicks: true });
  box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
});
afterEach(async () => {
  await t.close();
  await new Promise((r) => receiver.close(r));
});

async function visit(code: string, door: number) {
  const unlocked = waitFor(box, 'unlocked');
  box.pressCode(code);
  await unlocked;
  box.openDoor(door);
  box.closeDoor(door);
}

describe('webhooks', () => {
  it("delivers every state change of the platform's parcels once after dedupe, signed, through a failing receiver", async () => {
    const hook = await t.api('POST', '/api/v1/webhooks', { url }, t.integration);
    expect(hook.status).toBe(201);
    const { secret } = hook.body;
    await box.telemetry([{ sensor: 't1', c: 3.25 }]);
    await t.ticked(() => t.hub.db.prepare('SELECT count(*) FROM readings').pluck().get() === 1);
    const a = (
      await t.api(
        'POST',
        '/api/v1/parcels',
        { lockerId: 'box-1', size: 'M', temperatureClass: 'chilled', recipient: { name: 'Ada' } },
        t.integration,
      )
    ).body;
    const b = (
      await t.api(
        'POST',
        '/api/v1/parcels',
        { lockerId: 'box-1', size: 'M', temperatureClass: 'frozen', recipient: { name: 'Bob' } },
        t.integration,
      )
    ).body;
    await visit(a.depositCode, a.parcel.door);
    await eventually(
      async () => (await t.api('GET', `/api/v1/parcels/${a.parcel.id}`)).body.state === 'stored',
    );
    await visit(a.pickupCode, a.parcel.door);
    await t.api('POST', `/api/v1/parcels/${b.parcel.id}/cancel`, { reason: 'out of stock' }, t.integration);
    // A parcel the operator created is not this platform's business.
    await t.api('POST', '/api/v1/parcels', {
      lockerId: 'box-1',
      size: 'L',
      temperatureClass: 'ambient',
      recipient: { name: 'Op' },
    });

    const unique = () => new Map(received.map((r) => [r.delivery, r]));
    // The notifier's rounds, two seconds apart on the hub's clock: the failed sends are retried
    // after their backoff (1 s, 2 s…), which the clock crosses without waiting.
    await eventually(
      async () => {
        clock += 2000;
        await t.hub.tick();
        return unique().size === 5;
      },
      15_000,
      'five deliveries',
    );
    const byParcel = (id: string) =>
      [...unique().values()]
        .map((r) => JSON.parse(r.body))
        .filter((p) => p.parcel.id === id)
        .map((p) => p.type);
    expect(byParcel(a.parcel.id)).toEqual(['parcel.reserved', 'parcel.stored', 'parcel.picked_up']);
    expect(byParcel(b.parcel.id)).toEqual(['parcel.reserved', 'parcel.cancelled']);
    for (const r of unique().values()) expect(r.signature).toBe(sign(secret, r.timestamp, r.body));
    const stored = [...unique().values()]
      .map((r) => JSON.parse(r.body))
      .find((p) => p.type === 'parcel.stored');
    expect(stored.receipt).toMatchObject({
      lockerId: 'box-1',
      door: a.parcel.door,
      temperature: { c: 3.25 },
    });
    expect(stored.parcel).toMatchObject({ id: a.parcel.id, recipient: { name: 'Ada' } });
    // The pickup says what the goods lived through, for the platform to tell its customer.
    const pickedUp = [...unique().values()]
      .map((r) => JSON.parse(r.body))
      .find((p) => p.type === 'parcel.picked_up');
    expect(pickedUp.temperature).toMatchObject({ minC: 3.25, maxC: 3.25, minutesOutOfRange: 0 });
    expect(pickedUp.temperature.verdict).toBe('ok');
    expect(failuresLeft).toBeLessThan(0); // the failures did happen, and were retried
    // Everything delivered; one more round of the notifier, known to have run, sends nothing again.
    const undelivered = t.hub.db
      .prepare(`SELECT count(*) FROM webhook_deliveries WHERE state <> 'delivered'`)
      .pluck();
    expect(undelivered.get()).toBe(0);
    await t.hub.tick();
    expect(unique().size).toBe(5);
  });

  it('delivers every alarm’s life to an operator’s webhook, in order, signed, and no parcel to it', async () => {
    const hook = await t.api('POST', '/api/v1/webhooks', { url }, t.operator);
    expect(hook.status).toBe(201);
    const { secret } = hook.body;
    expect((await t.api('GET', '/api/v1/webhooks', undefined, t.operator)).body.webhooks).toMatchObject([
      { topic: 'alarms' },
    ]);
    // A compartment at +12 °C: a critical alarm; acknowledged; cold again: cleared.
    let sent = 0;
    const reads = async (c: number, n: number) => {
      for (let m = 0; m < n; m++) {
        clock += 60_000;
        await box.telemetry([{ sensor: 't1', c }]);
        sent++;
        await t.ticked(() => t.hub.db.prepare('SELECT count(*) FROM readings').pluck().get() === sent);
      }
    };
    await reads(12, 12);
    const alarms = async () =>
      (await t.api('GET', '/api/v1/alarms?kind=temperature_high&state=all')).body.alarms as Array<{
        id: string;
        level: string;
      }>;
    const alarm = (await alarms()).find((a) => a.level === 'critical') as { id: string };
    expect(alarm).toBeDefined();
    expect((await t.api('POST', `/api/v1/alarms/${alarm.id}/ack`, { comment: 'on my way' })).status).toBe(
      200,
    );
    await reads(3, 12);
    await t.api('POST', '/api/v1/parcels', {
      lockerId: 'box-1',
      size: 'M',
      temperatureClass: 'chilled',
      recipient: { name: 'Op' },
    });
    const unique = () => new Map(received.map((r) => [r.delivery, r]));
    await eventually(
      async () => {
        clock += 2000;
        await t.hub.tick();
        return [...unique().values()].some((r) => r.type === 'alarm.cleared');
      },
      15_000,
      'the alarm cleared, delivered',
    );
    const bodies = [...unique().values()].map((r) => JSON.parse(r.body));
    expect(bodies.every((b) => b.type.startsWith('alarm.') && b.siteId === 'ferme')).toBe(true);
    // The critical alarm's life, in its order: raised, acknowledged, cleared.
    expect(bodies.filter((b) => b.data.id === alarm.id).map((b) => b.type)).toEqual([
      'alarm.raised',
      'alarm.acknowledged',
      'alarm.cleared',
    ]);
    expect(bodies.find((b) => b.type === 'alarm.raised').alarm).toMatchObject({
      level: 'critical',
      lockerId: 'box-1',
    });
    for (const r of unique().values()) expect(r.signature).toBe(sign(secret, r.timestamp, r.body));
    expect(failuresLeft).toBeLessThan(0); // the receiver's failures were retried
  });
});
