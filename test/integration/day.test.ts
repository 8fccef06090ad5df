/**
 * A whole day of the short supply chain (issue 5's bar): three producers deposit at two rural
 * boxes, a driver's round collects (one parcel not scanned, one foreign label scanned), delivers
 * to a town locker, two customers collect, one parcel expires. Every state change is in the
 * audit trail and reaches the platform's webhook exactly once after dedupe, through a receiver
 * that fails its first attempts.
 */
import { createServer, type Server } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SimLocker } from '../../cli/sim-locker.ts';
import { eventually, startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';
import { sscc } from '../helpers/parcels.ts';

const HOUR = 3_600_000;
let t: TestHub;
let clock: number;
let receiver: Server;
const deliveries = new Map<string, { type: string; parcelId: string }>();
let refusals = 0;

beforeEach(async () => {
  deliveries.clear();
  refusals = 0;
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      if (refusals < 3) {
        refusals++;
        res.writeHead(500).end();
        return;
      }
      const p = JSON.parse(body);
      deliveries.set(String(req.headers['x-casier-delivery']), { type: p.type, parcelId: p.parcel.id });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  clock = Date.UTC(2026, 10, 30, 5, 0);
  t = await startTestHub({ now: () => clock, manualTicks: true });
});
afterEach(async () => {
  await t.close();
  await new Promise((r) => receiver.close(r));
});

async function use(locker: SimLocker, code: string, door: number) {
  const unlocked = waitFor<[number]>(locker, 'unlocked', (d) => d === door);
  locker.pressCode(code);
  await unlocked;
  locker.openDoor(door);
  locker.closeDoor(door);
}
const scan = (locker: SimLocker, n: number) => locker.scan(`]C100${sscc(n)}`);
const state = async (id: string) => (await t.api('GET', `/api/v1/parcels/${id}`)).body.state as string;

describe('a day of the short supply chain', () => {
  it('runs from the farms to the customers, every change recorded and notified exactly once', {
    timeout: 60_000,
  }, async () => {
    const boxes = [
      await t.locker({ site: 'pic', locker: 'box-pic' }, 'rural-box-8'),
      await t.locker({ site: 'saules', locker: 'box-saules' }, 'rural-box-8'),
    ];
    const town = await t.locker({ site: 'lyon', locker: 'town-1' }, 'town-locker-16');
    const [boxPic, boxSaules] = boxes as [SimLocker, SimLocker];
    const { url } = { url: `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook` };
    expect((await t.api('POST', '/api/v1/webhooks', { url }, t.integration)).status).toBe(201);
    const producers = await Promise.all(
      ['GAEC du Pic', 'Ferme des Saules', 'Les Ruchers'].map(
        async (name) => (await t.api('POST', '/api/v1/producers', { name }, t.integration)).body,
      ),
    );
    const driver = (
      await t.api('POST', '/api/v1/drivers', { name: 'Yann', sites: ['pic', 'saules', 'lyon'] })
    ).body as { code: string };
    for (const site of ['pic', 'saules'])
      await t.api('PUT', `/api/v1/sites/${site}/settings`, { driverDoors: 'all' });

    // 05:00 — orders: four parcels travel to town; a fifth stays at its box (the foreign label).
    const order = async (locker: string, n: number, producer: number, cls: string, travels = true) =>
      (
        await t.api(
          'POST',
          '/api/v1/parcels',
          {
            lockerId: locker,
            size: 'M',
            temperatureClass: cls,
            recipient: { name: `customer ${n}` },
            sscc: sscc(n),
            producerId: producers[producer].id,
            pickupWindowHours: 24,
            ...(travels ? { destinationLockerId: 'town-1' } : {}),
          },
          t.integration,
        )
      ).body as { parcel: { id: string; door: number }; depositCode: string; pickupCode: string };
    const p1 = await order('box-pic', 1, 0, 'chilled');
    const p2 = await order('box-pic', 2, 0, 'ambient');
    const p3 = await order('box-saules', 3, 1, 'chilled');
    const p4 = await order('box-saules', 4, 2, 'frozen');
    const local = await order('box-saules', 5, 2, 'ambient', false);

    // 06:00 — the producers deposit.
    clock += HOUR;
    for (const [box, p] of [
      [boxPic, p1],
      [boxPic, p2],
      [boxSaules, p3],
      [boxSaules, p4],
      [boxSaules, local],
    ] as const)
      await use(box, p.depositCode, p.parcel.door);
    for (const p of [p1, p2, p3, p4, local])
      await eventually(async () => (await state(p.parcel.id)) === 'stored');

    // 09:00 — the round: at the Pic box, p2 is taken without its label being scanned.
    clock += 3 * HOUR;
    const collect = async (
      box: SimLocker,
      parcels: Array<{ p: typeof p1; n: number | null }>,
      foreign?: number,
    ) => {
      const opened: number[] = [];
      const onUnlock = (d: number) => opened.push(d);
      box.on('unlocked', onUnlock);
      box.pressCode(driver.code);
      await eventually(() => opened.length === parcels.length, 5000, 'doors open');
      box.off('unlocked', onUnlock);
      for (const { p, n } of parcels) {
        box.openDoor(p.parcel.door);
        if (n !== null) scan(box, n);
      }
      if (foreign) scan(box, foreign);
      for (const { p } of parcels) box.closeDoor(p.parcel.door);
    };
    await collect(boxPic, [
      { p: p1, n: 1 },
      { p: p2, n: null },
    ]);
    await collect(
      boxSaules,
      [
        { p: p3, n: 3 },
        { p: p4, n: 4 },
      ],
      5,
    );
    for (const p of [p1, p3, p4]) await eventually(async () => (await state(p.parcel.id)) === 'in_transit');
    expect(await state(p2.parcel.id)).toBe('stored');

    // 11:00 — delivery in town, one scan per parcel.
    clock += 2 * HOUR;
    const doors = new Map<string, number>();
    town.pressCode(driver.code);
    await waitFor(town, 'command', (c: { type: string }) => c.type === 'display');
    for (const [p, n] of [
      [p1, 1],
      [p3, 3],
      [p4, 4],
    ] as const) {
      const unlocked = waitFor<[number]>(town, 'unlocked');
      scan(town, n);
      const [door] = await unlocked;
      doors.set(p.parcel.id, door);
      town.openDoor(door);
      town.closeDoor(door);
      await eventually(async () => (await state(p.parcel.id)) === 'ready');
    }

    // 18:00 — two customers collect; p4's customer never comes.
    clock += 7 * HOUR;
    await use(town, p1.pickupCode, doors.get(p1.parcel.id) as number);
    await use(town, p3.pickupCode, doors.get(p3.parcel.id) as number);
    for (const p of [p1, p3]) await eventually(async () => (await state(p.parcel.id)) === 'picked_up');
    clock += 18 * HOUR; // past p4's 24 h window
    await t.hub.tick();
    expect(await state(p4.parcel.id)).toBe('expired');

    // The audit trail has every step and the flags.
    const flags = t.hub.db
      .prepare(`SELECT json_extract(data, '$.reason') FROM events WHERE type = 'transit.flag' ORDER BY seq`)
      .pluck()
      .all();
    expect(flags).toEqual(['not_scanned', 'not_in_round']);
    const changes = t.hub.db
      .prepare(
        `SELECT parcel_id, type FROM events WHERE type LIKE 'parcel.%' AND parcel_id IS NOT NULL ORDER BY seq`,
      )
      .all() as Array<{ parcel_id: string; type: string }>;
    const of = (id: string) => changes.filter((c) => c.parcel_id === id).map((c) => c.type);
    expect(of(p1.parcel.id)).toEqual([
      'parcel.reserved',
      'parcel.stored',
      'parcel.in_transit',
      'parcel.ready',
      'parcel.picked_up',
    ]);
    expect(of(p4.parcel.id)).toEqual([
      'parcel.reserved',
      'parcel.stored',
      'parcel.in_transit',
      'parcel.ready',
      'parcel.pickup_reminder',
      'parcel.expired',
    ]);
    expect(of(p2.parcel.id)).toEqual(['parcel.reserved', 'parcel.stored']);

    // The platform heard of each change exactly once after dedupe, despite its failing start.
    // The notifier's rounds, a minute apart on the hub's clock: the refused sends are retried after
    // their backoff, which the clock crosses without waiting.
    await eventually(
      async () => {
        clock += 60_000;
        await t.hub.tick();
        return deliveries.size === changes.length;
      },
      20_000,
      `${changes.length} deliveries`,
    );
    expect(refusals).toBe(3);
    const heard = [...deliveries.values()].map((d) => `${d.parcelId}:${d.type}`).sort();
    expect(heard).toEqual(changes.map((c) => `${c.parcel_id}:${c.type}`).sort());
    expect(new Set(heard).size).toBe(heard.length);
  });
});
