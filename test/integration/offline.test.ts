import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type CodesTable,
  decodePayload,
  OFFLINE_FORMAT,
  offlineHash,
  offlineKey,
  offlineMac,
  topic,
} from '../../devices/index.ts';
import { eventually, LIGHT_OFFLINE_COST, startTestHub, type TestHub } from '../helpers/hub.ts';

let t: TestHub;
let device: mqtt.MqttClient;
let key: Buffer;
let table: CodesTable | undefined;
let seq = 0;
const ref = { site: 'ferme', locker: 'box-1' };

beforeEach(async () => {
  seq = 0; // a new hub: the cabinet's numbering starts again (a hole would hold its events)
  t = await startTestHub();
  const { password } = t.hub.provisioning.addDevice(ref, 'rural-box-8', 'test');
  key = offlineKey(password);
  device = await mqtt.connectAsync(t.hub.mqttUrl, {
    username: 'ferme/box-1',
    password,
    clientId: 'ferme/box-1',
    reconnectPeriod: 0,
  });
  device.on('message', (tp, p) => {
    if (tp.endsWith('/codes')) {
      const m = decodePayload('codes', p);
      if (m.ok) table = m.value;
    }
  });
  await device.subscribeAsync([topic(ref, 'codes'), topic(ref, 'events/ack')], { qos: 1 });
  await device.publishAsync(
    topic(ref, 'state'),
    JSON.stringify({
      online: true,
      bootId: 'b',
      fw: 't',
      profile: 'rural-box-8',
      ts: Date.now(),
      codes: OFFLINE_FORMAT,
    }),
    { qos: 1, retain: true },
  );
});
afterEach(async () => {
  await device.endAsync(true);
  await t.close();
  table = undefined;
});

const send = (events: object[], ts = Date.now()) =>
  device.publishAsync(
    topic(ref, 'events'),
    JSON.stringify({ bootId: 'b', events: events.map((e) => ({ id: `b-${++seq}`, seq, ts, ...e })) }),
    { qos: 1 },
  );

/** The hash a code has in this cabinet's table (the tests' hub hashes at a light cost). */
const h = (code: string) => offlineHash(key, ref.locker, code, LIGHT_OFFLINE_COST);
async function parcel() {
  const res = await t.api(
    'POST',
    '/api/v1/parcels',
    { lockerId: 'box-1', size: 'M', temperatureClass: 'chilled', recipient: { name: 'Ada' } },
    t.integration,
  );
  const p = res.body as { parcel: { id: string; door: number }; depositCode: string; pickupCode: string };
  // A cabinet journals only hashes it was sent: both codes in the table, as the hub computed them.
  const both = [await h(p.depositCode), await h(p.pickupCode)];
  await eventually(
    () => both.every((x) => table?.entries.some((e) => e.h === x)),
    5000,
    'both codes offline',
  );
  return p;
}
const state = async (id: string) => (await t.api('GET', `/api/v1/parcels/${id}`)).body.state;
const ledger = (type: string) =>
  t.hub.db
    .prepare('SELECT data FROM events WHERE type = ? ORDER BY seq')
    .pluck()
    .all(type)
    .map((d) => JSON.parse(d as string));

describe('offline code table', () => {
  it('publishes keyed hashes of the live codes, never the codes, and the pickup code bound to its deposit', async () => {
    const p = await parcel();
    const deposit = table?.entries.find((e) => e.kind === 'deposit');
    const pickup = table?.entries.find((e) => e.kind === 'pickup');
    expect(deposit).toMatchObject({ h: await h(p.depositCode), doors: [p.parcel.door] });
    expect(pickup).toMatchObject({ h: await h(p.pickupCode), after: deposit?.h });
    expect(JSON.stringify(table)).not.toContain(p.depositCode);
    // Slow hashes of the HMAC (format 2), at the cost the table states: never the HMAC itself.
    expect(table).toMatchObject({ format: 2, cost: LIGHT_OFFLINE_COST });
    expect(JSON.stringify(table)).not.toContain(offlineMac(key, p.depositCode));
  });
});

describe('reconciling what a cabinet did offline', () => {
  it('completes a deposit and a pickup made with offline unlocks', async () => {
    const p = await parcel();
    const door = p.parcel.door;
    await send([
      { type: 'offline.unlock', door, h: await h(p.depositCode), kind: 'deposit' },
      { type: 'door.opened', door },
      { type: 'door.closed', door },
      { type: 'offline.unlock', door, h: await h(p.pickupCode), kind: 'pickup' },
      { type: 'door.opened', door },
      { type: 'door.closed', door },
    ]);
    await eventually(async () => (await state(p.parcel.id)) === 'picked_up', 5000, 'picked up');
    expect(ledger('code.used_offline').map((d) => d.kind)).toEqual(['deposit', 'pickup']);
    expect(ledger('offline.conflict')).toEqual([]);
  });

  it('completes a pickup made offline for a parcel held meanwhile: the customer left with it, held for an operator', async () => {
    const MIN = 60_000;
    const p = await parcel();
    const door = p.parcel.door;
    const t0 = Date.now() - 30 * MIN;
    await send(
      [
        { type: 'offline.unlock', door, h: await h(p.depositCode), kind: 'deposit' },
        { type: 'door.opened', door },
        { type: 'door.closed', door },
      ],
      t0,
    );
    await eventually(async () => (await state(p.parcel.id)) === 'stored', 5000, 'stored');
    // Its compartment at +12 °C for a quarter of an hour (readings buffered before the cabinet's
    // latest boot): the parcel is held. The cabinet, out of reach, does not know, and opens for
    // its pickup code.
    for (let m = 1; m <= 16; m++)
      await device.publishAsync(
        topic(ref, 'telemetry'),
        JSON.stringify({ bootId: 'a', seq: m, ts: t0 + m * MIN, readings: [{ sensor: `t${door}`, c: 12 }] }),
        { qos: 1 },
      );
    await eventually(async () => (await state(p.parcel.id)) === 'quarantined', 5000, 'held');
    await send([
      { type: 'offline.unlock', door, h: await h(p.pickupCode), kind: 'pickup' },
      { type: 'door.opened', door },
      { type: 'door.closed', door },
    ]);
    await eventually(async () => (await state(p.parcel.id)) === 'picked_up', 5000, 'picked up');
    expect(ledger('offline.conflict')).toEqual([]);
    expect(ledger('code.used_offline').at(-1)).toMatchObject({ kind: 'pickup', held: true });
    expect(ledger('parcel.picked_up')).toMatchObject([{ held: true }]);
  });

  it('completes a deposit made offline by a bridge of format 1, journalled under its HMAC before an upgrade', async () => {
    const p = await parcel();
    const door = p.parcel.door;
    await send([
      { type: 'offline.unlock', door, h: offlineMac(key, p.depositCode), kind: 'deposit' },
      { type: 'door.opened', door },
      { type: 'door.closed', door },
    ]);
    await eventually(async () => (await state(p.parcel.id)) === 'stored', 5000, 'stored');
    expect(ledger('offline.conflict')).toEqual([]);
  });

  it('flags a code used offline after the hub cancelled its parcel', async () => {
    const p = await parcel();
    await t.api(
      'POST',
      `/api/v1/parcels/${p.parcel.id}/cancel`,
      { reason: 'order cancelled' },
      t.integration,
    );
    await send([{ type: 'offline.unlock', door: p.parcel.door, h: await h(p.depositCode), kind: 'deposit' }]);
    await eventually(() => ledger('offline.conflict').length === 1, 5000, 'a conflict');
    expect(ledger('offline.conflict')[0]).toMatchObject({ reason: 'code_revoked', kind: 'deposit' });
  });

  it('opens nothing for a keypad entry that reaches the hub long after it was typed', async () => {
    const p = await parcel();
    const commands: string[] = [];
    device.on('message', (tp) => tp.endsWith('/commands') && commands.push(tp));
    await device.subscribeAsync(topic(ref, 'commands'), { qos: 1 });
    await send([{ type: 'keypad.entry', code: p.depositCode }], Date.now() - 120_000);
    await eventually(() => ledger('code.rejected').length === 1, 5000, 'a rejection');
    expect(ledger('code.rejected')[0]).toMatchObject({ reason: 'stale' });
    // Decided in the rejection's own transaction: no command for the cabinet at all.
    expect(t.hub.db.prepare('SELECT count(*) FROM commands').pluck().get()).toBe(0);
    expect(commands).toEqual([]);
    expect(await state(p.parcel.id)).toBe('reserved');
  });
});
