/**
 * A cabinet's events are applied in its numbering's order whatever order they arrive in
 * (hub/event-order.ts): a raw MQTT device plays the bridge, so each arrival order is chosen, and the
 * hub's clock is the test's, so the hold's bound is crossed by a tick, never waited for.
 */
import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { topic } from '../../devices/index.ts';
import { DEFAULT_GAP_HOLD_MS } from '../../hub/event-order.ts';
import { eventually, startTestHub, type TestHub } from '../helpers/hub.ts';

let t: TestHub;
let clock = Date.parse('2026-12-07T09:00:00Z');
let client: mqtt.MqttClient;
let acked: string[];
const ref = { site: 'ferme', locker: 'box-1' };
const HOLD = DEFAULT_GAP_HOLD_MS;

beforeEach(async () => {
  clock = Date.parse('2026-12-07T09:00:00Z');
  t = await startTestHub({ now: () => clock, manualTicks: true });
  const { password } = t.hub.provisioning.addDevice(ref, 'rural-box-8', 'test');
  acked = [];
  client = await mqtt.connectAsync(t.hub.mqttUrl, {
    username: 'ferme/box-1',
    password,
    clientId: 'ferme/box-1',
    protocolVersion: 4,
    reconnectPeriod: 100,
  });
  client.on('message', (tp, p) => {
    if (tp.endsWith('/events/ack')) acked.push(...JSON.parse(p.toString()).ids);
  });
  await client.subscribeAsync(topic(ref, 'events/ack'), { qos: 1 });
});
afterEach(async () => {
  await client.endAsync(true);
  await t.close();
});

type Door = 'door.opened' | 'door.closed';
const ev = (boot: string, seq: number, type: Door, door: number) => ({
  id: `${boot}-${seq}`,
  seq,
  ts: clock,
  type,
  door,
});

/** Publishes one events message and waits for the hub to acknowledge it (it is then stored). */
async function send(boot: string, ...events: Array<ReturnType<typeof ev>>): Promise<void> {
  await client.publishAsync(topic(ref, 'events'), JSON.stringify({ bootId: boot, events }), { qos: 1 });
  await eventually(
    () => events.every((e) => acked.includes(e.id)),
    5000,
    `ack of ${events.map((e) => e.id)}`,
  );
}

async function online(up: boolean): Promise<void> {
  const msg = up
    ? { online: true, bootId: 'b', fw: 'raw', profile: 'rural-box-8', ts: clock }
    : { online: false, ts: clock };
  await client.publishAsync(topic(ref, 'state'), JSON.stringify(msg), { qos: 1 });
  const state = t.hub.db.prepare('SELECT online FROM lockers WHERE id = ?').pluck();
  await eventually(() => state.get(ref.locker) === (up ? 1 : 0), 5000, 'state applied');
}

/** The door facts in the ledger, in the order the hub applied them. */
const doors = () =>
  (
    t.hub.db.prepare(`SELECT type, door FROM events WHERE type LIKE 'door.%' ORDER BY seq`).all() as Array<{
      type: string;
      door: number;
    }>
  ).map((r) => `${r.type.slice(5)} ${r.door}`);
const gaps = () =>
  (
    t.hub.db.prepare(`SELECT data FROM events WHERE type = 'device.sequence_gap'`).pluck().all() as string[]
  ).map((d) => JSON.parse(d));

describe('events applied in sequence order', () => {
  it('holds what arrives after a hole, acknowledged, and applies it once the hole fills', async () => {
    await send('b', ev('b', 1, 'door.opened', 1));
    await send('b', ev('b', 3, 'door.opened', 2), ev('b', 4, 'door.closed', 2));
    // Stored and acknowledged (the bridge may forget them) but not applied: door 1 is still open.
    expect(doors()).toEqual(['opened 1']);
    await t.hub.tick();
    expect(doors()).toEqual(['opened 1']);
    await send('b', ev('b', 2, 'door.closed', 1));
    expect(doors()).toEqual(['opened 1', 'closed 1', 'opened 2', 'closed 2']);
    expect(gaps()).toEqual([]);
  });

  it('keeps what it holds across a hub restart', async () => {
    await send('b', ev('b', 1, 'door.opened', 1));
    await send('b', ev('b', 3, 'door.opened', 2));
    await t.restart();
    await eventually(() => client.connected, 5000, 'device reconnected');
    await client.subscribeAsync(topic(ref, 'events/ack'), { qos: 1 });
    await send('b', ev('b', 2, 'door.closed', 1));
    expect(doors()).toEqual(['opened 1', 'closed 1', 'opened 2']);
    expect(gaps()).toEqual([]);
  });

  it('decides a keypad entry held behind a hole after a hub restart: the person may still be there', async () => {
    const created = await t.api(
      'POST',
      '/api/v1/parcels',
      { lockerId: 'box-1', size: 'M', temperatureClass: 'chilled', recipient: { name: 'Ada' } },
      t.integration,
    );
    expect(created.status).toBe(201);
    const { depositCode, parcel } = created.body as { depositCode: string; parcel: { door: number } };
    await send('b', ev('b', 1, 'door.opened', 8));
    const entry = { id: 'b-3', seq: 3, ts: clock, type: 'keypad.entry', code: depositCode };
    await client.publishAsync(topic(ref, 'events'), JSON.stringify({ bootId: 'b', events: [entry] }), {
      qos: 1,
    });
    await eventually(() => acked.includes('b-3'), 5000, 'the entry stored');
    const body = t.hub.db.prepare(`SELECT body FROM device_events WHERE id = 'b-3'`).pluck().get() as string;
    expect(body).not.toContain(depositCode); // never in clear
    await t.restart();
    await eventually(() => client.connected, 5000, 'device reconnected');
    const unlocks: number[] = [];
    client.on('message', (tp, p) => {
      if (tp.endsWith('/commands')) {
        const c = JSON.parse(p.toString());
        if (c.type === 'unlock') unlocks.push(c.door);
      }
    });
    await client.subscribeAsync([topic(ref, 'events/ack'), topic(ref, 'commands')], { qos: 1 });
    await send('b', ev('b', 2, 'door.closed', 8));
    await eventually(() => unlocks.includes(parcel.door), 5000, 'the door released for the deposit code');
  });

  it('holds a later boot behind an earlier boot’s hole', async () => {
    await send('a', ev('a', 1, 'door.opened', 1));
    await send('a', ev('a', 3, 'door.opened', 2));
    await send('c', ev('c', 1, 'door.opened', 3));
    expect(doors()).toEqual(['opened 1']);
    await send('a', ev('a', 2, 'door.closed', 1));
    expect(doors()).toEqual(['opened 1', 'closed 1', 'opened 2', 'opened 3']);
  });

  it('records a loss only once a hole outlives the bound while the cabinet is online', async () => {
    await online(true);
    await send('b', ev('b', 1, 'door.opened', 1), ev('b', 2, 'door.closed', 1));
    await send('b', ev('b', 5, 'door.opened', 2));
    clock += HOLD - 1;
    await t.hub.tick();
    expect(gaps()).toEqual([]);
    expect(doors()).toEqual(['opened 1', 'closed 1']);
    clock += 1;
    await t.hub.tick();
    expect(gaps()).toEqual([{ bootId: 'b', expected: 3, got: 5, missing: 2, heldMs: HOLD }]);
    expect(doors()).toEqual(['opened 1', 'closed 1', 'opened 2']);
    // Once: later ticks and the lost events arriving after all record nothing more.
    clock += HOLD;
    await t.hub.tick();
    await send('b', ev('b', 3, 'door.opened', 3));
    await send('b', ev('b', 6, 'door.closed', 2));
    expect(gaps()).toHaveLength(1);
    expect(doors()).toEqual(['opened 1', 'closed 1', 'opened 2', 'opened 3', 'closed 2']);
  });

  it('does not count time offline: nothing can arrive then', async () => {
    await online(true);
    await send('b', ev('b', 1, 'door.opened', 1));
    await send('b', ev('b', 3, 'door.opened', 2));
    await online(false);
    clock += 10 * HOLD;
    await t.hub.tick();
    expect(gaps()).toEqual([]);
    await online(true);
    clock += HOLD - 1;
    await t.hub.tick();
    expect(gaps()).toEqual([]);
    await send('b', ev('b', 2, 'door.closed', 1));
    expect(doors()).toEqual(['opened 1', 'closed 1', 'opened 2']);
    clock += 10 * HOLD;
    await t.hub.tick();
    expect(gaps()).toEqual([]);
  });
});
