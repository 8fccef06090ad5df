import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { topic } from '../../devices/index.ts';
import { eventually, startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';

let t: TestHub;
const clients: mqtt.MqttClient[] = [];
beforeEach(async () => {
  t = await startTestHub();
});
afterEach(async () => {
  await Promise.allSettled(clients.map((c) => c.endAsync(true)));
  clients.length = 0;
  await t.close();
});

const ref = { site: 'ferme', locker: 'box-1' };

async function rawDevice(password: string): Promise<mqtt.MqttClient> {
  const c = await mqtt.connectAsync(t.hub.mqttUrl, {
    username: 'ferme/box-1',
    password,
    clientId: 'ferme/box-1',
    protocolVersion: 4,
    reconnectPeriod: 200,
  });
  clients.push(c);
  await c.subscribeAsync(topic(ref, 'events/ack'), { qos: 1 });
  return c;
}

const count = (sql: string) => (t.hub.db.prepare(sql).get() as { n: number }).n;

async function metrics(): Promise<string> {
  return (await t.api('GET', '/metrics')).body as string;
}

describe('device events', () => {
  it('applies an event delivered twice once, and acknowledges both deliveries', async () => {
    const { password } = t.hub.provisioning.addDevice(ref, 'rural-box-8', 'test');
    const c = await rawDevice(password);
    const acks: string[][] = [];
    c.on('message', (_t, p) => acks.push(JSON.parse(p.toString()).ids));
    const msg = JSON.stringify({
      bootId: 'b1',
      events: [{ id: 'b1-1', seq: 1, ts: Date.now(), type: 'door.opened', door: 2 }],
    });
    await c.publishAsync(topic(ref, 'events'), msg, { qos: 1 });
    await c.publishAsync(topic(ref, 'events'), msg, { qos: 1 });
    await eventually(() => acks.length === 2);
    expect(acks).toEqual([['b1-1'], ['b1-1']]);
    expect(count('SELECT count(*) AS n FROM device_events')).toBe(1);
    expect(count(`SELECT count(*) AS n FROM events WHERE type = 'door.opened'`)).toBe(1);
    expect(await metrics()).toMatch(/casier_device_events_total{result="duplicate"} 1/);
  });

  it('stores events recorded while the hub was down exactly once after it restarts, in order', async () => {
    const box = await t.locker(ref, 'rural-box-8', { resendMs: 100 });
    await t.hub.stop();
    await eventually(() => !box.connected, 5000, 'cabinet to notice');
    for (let i = 0; i < 20; i++) {
      box.openDoor(7, { force: true });
      box.closeDoor(7);
    }
    // The board reports each contact; the bridge journals them in its outbox while the hub is away.
    await eventually(() => box.unacknowledged === 40, 5000, 'forty events journalled');
    await t.restart();
    await eventually(() => box.unacknowledged === 0, 10_000, 'every event acknowledged');
    const rows = t.hub.db
      .prepare(`SELECT seq FROM device_events WHERE locker_id = 'box-1' ORDER BY seq`)
      .pluck()
      .all() as number[];
    expect(rows).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const ledger = t.hub.db
      .prepare(`SELECT type FROM events WHERE type LIKE 'door.%' ORDER BY seq`)
      .pluck()
      .all();
    expect(ledger).toEqual(Array.from({ length: 20 }, () => ['door.opened', 'door.closed']).flat());
  });
});

describe('bad input from devices', () => {
  it('drops and counts malformed and oversized payloads while the hub keeps serving', async () => {
    const { password } = t.hub.provisioning.addDevice(ref, 'rural-box-8', 'test');
    const c = await rawDevice(password);
    await c.publishAsync(topic(ref, 'events'), 'not json at all', { qos: 1 });
    await c.publishAsync(
      topic(ref, 'events'),
      JSON.stringify({ bootId: 'b', events: [{ id: 'e', type: 'door.opened', door: 'three' }] }),
      { qos: 1 },
    );
    await c.publishAsync(topic(ref, 'commands/result'), JSON.stringify({ id: 42 }), { qos: 1 });
    await c.publishAsync(topic(ref, 'state'), Buffer.from([0xff, 0xfe, 0x00]), { qos: 1 });
    await eventually(async () => {
      const m = await metrics();
      return (
        m.includes('casier_ingest_dropped_total{suffix="events",reason="not_json"} 1') &&
        m.includes('casier_ingest_dropped_total{suffix="events",reason="invalid"} 1') &&
        m.includes('casier_ingest_dropped_total{suffix="commands/result",reason="invalid"} 1') &&
        m.includes('casier_ingest_dropped_total{suffix="state",reason="not_json"} 1')
      );
    });
    // Oversized: dropped by the hub, the device stays connected.
    await c.publishAsync(topic(ref, 'events'), Buffer.alloc(70_000, 0x20), { qos: 1 });
    await eventually(async () =>
      (await metrics()).includes('casier_ingest_dropped_total{suffix="events",reason="too_large"} 1'),
    );
    expect(c.connected).toBe(true);
    expect(count('SELECT count(*) AS n FROM device_events')).toBe(0);
    const ack = waitFor(c as unknown as NodeJS.EventEmitter, 'message');
    await c.publishAsync(
      topic(ref, 'events'),
      JSON.stringify({
        bootId: 'b',
        events: [{ id: 'b-1', seq: 1, ts: Date.now(), type: 'door.closed', door: 1 }],
      }),
      { qos: 1 },
    );
    await ack;
    expect(count('SELECT count(*) AS n FROM device_events')).toBe(1);
  });

  it('disconnects a client that publishes megabytes, before the payload reaches anyone', async () => {
    const { password } = t.hub.provisioning.addDevice(ref, 'rural-box-8', 'test');
    /** Publishes `bytes` of events from the cabinet, and resolves once the broker closed on it. */
    const publishes = async (bytes: number) => {
      const c = await mqtt.connectAsync(t.hub.mqttUrl, {
        username: 'ferme/box-1',
        password,
        clientId: 'ferme/box-1',
        reconnectPeriod: 0,
      });
      clients.push(c);
      const closed = new Promise<void>((r) => c.once('close', () => r()));
      c.publish(topic(ref, 'events'), Buffer.alloc(bytes, 0x20), { qos: 1 });
      await closed;
    };
    await publishes(1024 * 1024 + 1024); // just over the payload cap: read, then refused
    expect(await metrics()).toContain('casier_mqtt_publish_refused_total{reason="too_large"} 1');
    await publishes(2 * 1024 * 1024); // over the packet cap: cut at its header, never read
    expect(await metrics()).toContain('casier_mqtt_connections_cut_total{reason="too_large"} 1');
    expect(await metrics()).not.toContain('casier_ingest_dropped_total{suffix="events"');
  });

  it('answers bad API bodies with a stable error code, never a crash', async () => {
    const bad = await t.api('POST', '/api/v1/parcels', '{"lockerId":', t.integration);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('HUB_ERR_VALIDATION');
    const invalid = await t.api(
      'POST',
      '/api/v1/parcels',
      { lockerId: 'x', size: 'XL', temperatureClass: 'warm', recipient: {} },
      t.integration,
    );
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.details.map((d: { path: string }) => d.path)).toEqual(
      expect.arrayContaining(['body.size', 'body.temperatureClass', 'body.recipient.name']),
    );
    const huge = await t.api('POST', '/api/v1/parcels', { reference: 'x'.repeat(100_000) }, t.integration);
    expect(huge.status).toBe(413);
    expect((await t.api('GET', '/api/v1/parcels', undefined, 'casier_not-a-real-token')).status).toBe(401);
    expect((await t.api('GET', '/api/v1/events', undefined, t.integration)).status).toBe(403);
    expect((await t.api('GET', '/api/v1/parcels/P-NOPE')).body.error.code).toBe('HUB_ERR_PARCEL_NOT_FOUND');
    expect((await t.api('GET', '/api/v1/nowhere')).status).toBe(404);
    expect((await t.api('GET', '/healthz')).status).toBe(200);
  });
});
