/**
 * What a platform, a link's holder or a passer-by could make of the customer's side (issue 22's
 * attack review), each found against a real hub before it was mended:
 * - redirecting a parcel to and fro sent its "recipient" (any number a platform gives) one paid
 *   SMS per request, queued ahead of every other customer's "ready";
 * - extending a window by a few seconds again and again sent a reminder each time;
 * - a parcel going back to its producer, rerouted at the producer's full box, was announced to the
 *   customer as "goes to the farm instead, same code" (their code dead by then);
 * - "show my code" posted in a loop wrote a ledger row each time;
 * - the page of a collected parcel read every reading of its journey at each request.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SimLocker } from '../../cli/sim-locker.ts';
import { recordSummary } from '../../hub/domain/coldchain/record.ts';
import { eventually, startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';
import { startSmsGateway } from '../helpers/inbox.ts';
import { orderParcel, sscc, useCode } from '../helpers/parcels.ts';

const HOUR = 3_600_000;
let t: TestHub;
let box: SimLocker;
let town: SimLocker;
let clock: number;
let gw: Awaited<ReturnType<typeof startSmsGateway>>;

beforeEach(async () => {
  clock = Date.UTC(2026, 11, 7, 8, 0);
  gw = await startSmsGateway();
  t = await startTestHub({ now: () => clock, manualTicks: true, sms: { url: gw.url } });
  box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
  town = await t.locker({ site: 'lyon', locker: 'town-1' }, 'town-locker-16');
  await t.locker({ site: 'paris', locker: 'town-2' }, 'town-locker-16');
});
afterEach(async () => {
  await t.close();
  await gw.close();
});

const state = async (id: string) => (await t.api('GET', `/api/v1/parcels/${id}`)).body.state;
const to = (phone: string) => gw.sms.filter((s) => s.to === phone);
/** A few rounds of the notices, a minute apart on the hub's clock. */
async function rounds(n = 3) {
  for (let i = 0; i < n; i++) {
    clock += 60_000;
    await t.hub.tick();
  }
}

describe('a platform redirecting', () => {
  it('tells no customer of a parcel not deposited yet, and may change its mind three times, not more', async () => {
    const p = await orderParcel(t, { recipient: { name: 'Victim', phone: '+33699999999' } });
    const go = (siteId: string) =>
      t.api('POST', `/api/v1/parcels/${p.parcel.id}/redirect`, { siteId }, t.integration);
    for (const site of ['paris', 'lyon', 'paris']) expect((await go(site)).status).toBe(200);
    const fourth = await go('lyon');
    expect(fourth.status).toBe(409);
    expect(fourth.body.error.message).toContain('redirected 3 times');
    await rounds();
    expect(to('+33699999999')).toEqual([]);
  });

  it('tells a customer who was told their parcel was ready, once a redirect', async () => {
    const p = await orderParcel(t, {
      lockerId: 'town-1',
      recipient: { name: 'Ada', phone: '+33612345678' },
    });
    await useCode(town, p.depositCode, p.parcel.door);
    await t.ticked(async () => (await state(p.parcel.id)) === 'stored');
    await rounds();
    expect(to('+33612345678').map((s) => s.text)).toEqual([expect.stringMatching(/ready/i)]);
    expect(
      (await t.api('POST', `/api/v1/parcels/${p.parcel.id}/redirect`, { siteId: 'paris' }, t.integration))
        .status,
    ).toBe(200);
    await rounds();
    expect(to('+33612345678')).toHaveLength(2);
    expect(to('+33612345678')[1]?.text).toMatch(/paris/);
  });
});

describe('a window extended by the platform', () => {
  it('moves by whole hours, and reminds its customer once a day at most', async () => {
    const p = await orderParcel(t, {
      lockerId: 'town-1',
      pickupWindowHours: 2,
      recipient: { name: 'Ada', phone: '+33612345678' },
    });
    await useCode(town, p.depositCode, p.parcel.door);
    await t.ticked(async () => (await state(p.parcel.id)) === 'stored');
    clock += 90 * 60_000; // half-way through a two-hour window: reminded
    await rounds();
    const extend = (hours: number) =>
      t.api('POST', `/api/v1/parcels/${p.parcel.id}/extend`, { hours }, t.integration);
    expect((await extend(0.0001)).status).toBe(400);
    for (let i = 0; i < 4; i++) {
      expect((await extend(1)).status).toBe(200);
      clock += 40 * 60_000; // each time past half-way again
      await rounds(2);
    }
    expect(to('+33612345678').map((s) => s.text)).toEqual([
      expect.stringMatching(/ready/i),
      expect.stringMatching(/remind|until|before/i),
    ]);
  });
});

describe('a parcel going back to its producer', () => {
  it('is no news to its customer when the hub sends it to another box of the farm', async () => {
    await t.locker({ site: 'ferme', locker: 'box-2' }, 'rural-box-8');
    const d = (await t.api('POST', '/api/v1/drivers', { name: 'Yann', sites: ['ferme', 'lyon'] })).body;
    const p = await orderParcel(t, {
      temperatureClass: 'frozen',
      destinationLockerId: 'town-1',
      sscc: sscc(1),
      pickupWindowHours: 24,
      recipient: { name: 'Ada', phone: '+33612345678' },
    });
    const id = p.parcel.id;
    await useCode(box, p.depositCode, p.parcel.door);
    await eventually(async () => (await state(id)) === 'stored');
    let unlocked = waitFor<[number]>(box, 'unlocked', (door) => door === p.parcel.door);
    box.pressCode(d.code);
    await unlocked;
    box.openDoor(p.parcel.door);
    box.scan(`]C100${sscc(1)}`);
    box.closeDoor(p.parcel.door);
    await eventually(async () => (await state(id)) === 'in_transit');
    const shown = (l: SimLocker) => waitFor<[{ type: string }]>(l, 'command', (c) => c.type === 'display');
    let hello = shown(town);
    town.pressCode(d.code);
    await hello;
    unlocked = waitFor<[number]>(town, 'unlocked');
    town.scan(`]C100${sscc(1)}`);
    const [door] = await unlocked;
    town.openDoor(door);
    town.closeDoor(door);
    await eventually(async () => (await state(id)) === 'ready');
    await rounds();
    clock += 25 * HOUR; // not collected
    await rounds();
    expect(await state(id)).toBe('expired');
    const before = to('+33612345678').length;
    // The driver takes it back; the farm's first box is full, the hub sends it to the second.
    unlocked = waitFor<[number]>(town, 'unlocked', (x) => x === door);
    town.pressCode(d.code);
    await unlocked;
    town.openDoor(door);
    town.scan(`]C100${sscc(1)}`);
    town.closeDoor(door);
    await eventually(async () => (await state(id)) === 'in_transit', 5000, 'homebound in the van');
    for (let i = 0; i < 2; i++)
      await orderParcel(t, { temperatureClass: 'frozen', recipient: { name: 'X' } });
    hello = shown(box);
    box.pressCode(d.code);
    await hello;
    const told = shown(box);
    box.scan(`]C100${sscc(1)}`);
    await told;
    await eventually(
      () =>
        t.hub.db
          .prepare(`SELECT count(*) FROM events WHERE parcel_id = ? AND type = 'parcel.rerouted'`)
          .pluck()
          .get(id) === 1,
    );
    await rounds();
    expect(to('+33612345678').slice(before)).toEqual([]);
  });
});

describe('the customer’s page', () => {
  it('records a code shown again and again once in ten minutes, and reads a collected parcel’s journey without its readings', async () => {
    const p = await orderParcel(t, { lockerId: 'town-1', recipient: { name: 'Ada', language: 'en' } });
    await useCode(town, p.depositCode, p.parcel.door);
    await t.ticked(async () => (await state(p.parcel.id)) === 'stored');
    const link = t.hub.links.url(p.parcel.id);
    const show = () =>
      fetch(link, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'do=code',
      });
    for (let i = 0; i < 5; i++) expect(await (await show()).text()).toContain(p.pickupCode);
    const revealed = t.hub.db
      .prepare(`SELECT count(*) FROM events WHERE parcel_id = ? AND type = 'code.revealed'`)
      .pluck();
    expect(revealed.get(p.parcel.id)).toBe(1);
    clock += 11 * 60_000;
    await show();
    expect(revealed.get(p.parcel.id)).toBe(2);

    await useCode(town, p.pickupCode, p.parcel.door);
    await t.ticked(async () => (await state(p.parcel.id)) === 'picked_up');
    // Sealed: a summary reads the record as it was sealed, no reading.
    clock += 25 * HOUR;
    await rounds();
    await eventually(
      () =>
        t.hub.db.prepare('SELECT 1 FROM parcel_records WHERE parcel_id = ?').get(p.parcel.id) !== undefined,
      5000,
      'the record sealed',
    );
    const asked: string[] = [];
    const db = new Proxy(t.hub.db, {
      get(target, key, receiver) {
        if (key === 'prepare')
          return (sql: string) => {
            asked.push(sql);
            return target.prepare(sql);
          };
        return Reflect.get(target, key, receiver);
      },
    });
    expect(recordSummary(db, p.parcel.id, clock)).toMatchObject({ parcelId: p.parcel.id });
    expect(asked.filter((sql) => /readings/.test(sql))).toEqual([]);
  });
});
