import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { SimLocker } from '../../cli/sim-locker.ts';
import {
  eachReading,
  findProfile,
  LIVE_CLOSE,
  LIVE_PATH,
  type LiveServerMessage,
  topic,
} from '../../devices/index.ts';
import { eventually, startTestHub, type TestHub } from '../helpers/hub.ts';

let t: TestHub;
let box: SimLocker;

beforeAll(async () => {
  t = await startTestHub({ flushMs: 20 });
  box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
  // Every door known closed from the cabinet's state: opening one without a code is then forced.
  await eventually(async () =>
    (await t.api('GET', '/api/v1/lockers/box-1')).body.compartments.every(
      (c: { doorState: string }) => c.doorState === 'closed',
    ),
  );
});
afterAll(() => t.close());

/** A live-feed client that records every message it receives. */
async function connect(token: string | null) {
  const ws = new WebSocket(`ws://127.0.0.1:${t.hub.httpPort}${LIVE_PATH}`);
  const messages: LiveServerMessage[] = [];
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  ws.on('message', (data) => messages.push(JSON.parse(data.toString())));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  if (token !== null) ws.send(JSON.stringify({ type: 'auth', token }));
  return { ws, messages, closed };
}

describe('live feed', () => {
  it('refuses a connection without a valid operator token, with a reason', async () => {
    const bad = await connect('not-a-real-token-at-all');
    expect(await bad.closed).toBe(LIVE_CLOSE.unauthenticated);
    expect(bad.messages[0]).toMatchObject({ type: 'error', message: 'unknown or revoked token' });

    const platform = await connect(t.integration);
    expect(await platform.closed).toBe(LIVE_CLOSE.forbidden);

    const garbage = await connect(null);
    garbage.ws.send('{"type":"hello"');
    expect(await garbage.closed).toBe(LIVE_CLOSE.unauthenticated);
  });

  it('answers anything but the live path with a 404', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${t.hub.httpPort}/api/v1/other`);
    const err = await new Promise<Error>((resolve) => ws.once('error', resolve));
    expect(err.message).toMatch(/404/);
  });

  it('sends a snapshot drawn from the profile, then each change as a delta', async () => {
    const c = await connect(t.operator);
    const snap = await eventually(() => c.messages.find((m) => m.type === 'snapshot'));
    if (snap.type !== 'snapshot') throw new Error('unreachable');
    const locker = snap.lockers.find((l) => l.id === 'box-1');
    expect(locker).toMatchObject({ siteId: 'ferme', online: true, profile: 'rural-box-8' });
    expect(locker?.compartments).toHaveLength(8);
    expect(locker?.compartments[0]?.layout).toEqual({ col: 0, row: 0, rows: 1 });
    expect(snap.sites).toEqual([
      { id: 'ferme', name: 'ferme', lockers: 1, online: 1, line: null, language: 'en', timeZone: 'UTC' },
    ]);
    // Some history comes with it, newest first, none after the snapshot's position.
    expect(snap.recent.map((e) => e.type)).toContain('locker.online');
    expect(snap.recent[0]?.seq).toBe(snap.seq);

    // A door forced open: the locker delta shows it open, the alarm arrives on its own.
    box.openDoor(5, { force: true });
    const opened = await eventually(() =>
      c.messages.find(
        (m) => m.type === 'locker' && m.locker.compartments.find((x) => x.door === 5)?.doorState === 'open',
      ),
    );
    expect(opened.type).toBe('locker');
    const alarm = await eventually(() =>
      c.messages.find((m) => m.type === 'alarm' && m.alarm.kind === 'door_forced'),
    );
    if (alarm.type !== 'alarm') throw new Error('unreachable');
    expect(alarm.alarm).toMatchObject({ lockerId: 'box-1', state: 'raised' });
    const events = c.messages.flatMap((m) => (m.type === 'events' ? m.events : []));
    expect(events.map((e) => e.type)).toContain('door.opened');
    expect(events.every((e) => e.seq > snap.seq)).toBe(true);

    // Acknowledged through the API: the same alarm comes again, acknowledged, with who and why.
    await t.api('POST', `/api/v1/alarms/${alarm.alarm.id}/ack`, { comment: 'farmer forgot the key' });
    await eventually(() =>
      c.messages.find(
        (m) => m.type === 'alarm' && m.alarm.id === alarm.alarm.id && m.alarm.state === 'acknowledged',
      ),
    );
    box.closeDoor(5);

    // Readings once stored.
    await box.telemetry([{ sensor: 't1', c: 3.25 }]);
    const readings = await eventually(() => c.messages.find((m) => m.type === 'readings'));
    if (readings.type !== 'readings') throw new Error('unreachable');
    expect([...eachReading(readings.lockers)]).toEqual([
      expect.objectContaining({ lockerId: 'box-1', sensor: 't1', c: 3.25 }),
    ]);
    // Sensors that report at different instants: each reading once, under its own sensor.
    const before = c.messages.length;
    const pause = () => new Promise((r) => setTimeout(r, 5)); // one instant each
    await box.telemetry([
      { sensor: 't1', c: 3.5 },
      { sensor: 't5', c: -19 },
    ]);
    await pause();
    await box.telemetry([{ sensor: 't5', c: -18.5 }]);
    await pause();
    await box.telemetry([{ sensor: 't1', c: 0 }]);
    const later = () =>
      c.messages
        .slice(before)
        .flatMap((m) => (m.type === 'readings' ? [...eachReading(m.lockers)] : []))
        .map((r) => [r.sensor, r.c]);
    await eventually(() => later().length === 4, 5000, 'four readings');
    expect(later()).toEqual([
      ['t1', 3.5],
      ['t5', -19],
      ['t5', -18.5],
      ['t1', 0],
    ]);
    c.ws.close();
  });

  it('passes on every reading of a burst, in messages of bounded size', async () => {
    const c = await connect(t.operator);
    await eventually(() => c.messages.find((m) => m.type === 'snapshot'));
    // 6,020 readings in a moment, more than one message's worth: a cabinet replaying 860 of its
    // 7 sensors' readings after an outage, a bare MQTT client playing it.
    const ref = { site: 'ferme', locker: 'box-9' };
    const { password } = t.hub.provisioning.addDevice(ref, 'rural-box-8', 'test');
    const sensors = (findProfile('rural-box-8')?.sensors ?? []).map((x) => x.id);
    expect(sensors).toHaveLength(7);
    const device = await mqtt.connectAsync(t.hub.mqttUrl, {
      username: 'ferme/box-9',
      password,
      clientId: 'ferme/box-9',
      reconnectPeriod: 0,
    });
    const from = Date.now() - 860_000;
    for (let k = 0; k < 860; k++) {
      const readings = sensors.map((sensor, i) => ({ sensor, c: (k % 50) / 10 + i }));
      const msg = { bootId: 'burst-boot', seq: k + 1, ts: from + k * 1000, readings };
      device.publish(topic(ref, 'telemetry'), JSON.stringify(msg), { qos: 0 });
    }
    const got = () =>
      c.messages.flatMap((m) =>
        m.type === 'readings' ? [...eachReading(m.lockers)].filter((r) => r.lockerId === 'box-9') : [],
      );
    await eventually(() => got().length === 6020, 5000, 'every reading of the burst');
    expect(new Set(got().map((r) => `${r.sensor}@${r.ts}`)).size).toBe(6020);
    expect(got().find((r) => r.sensor === sensors[6] && r.ts === from + 859_000)).toMatchObject({
      lockerId: 'box-9',
      c: 0.9 + 6,
    });
    const sizes = c.messages.filter((m) => m.type === 'readings').map((m) => JSON.stringify(m).length);
    expect(sizes.length).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThan(200_000);
    c.ws.close();
    await device.endAsync();
  });

  it('sends each message to every client, and a new client starts from a fresh snapshot', async () => {
    const a = await connect(t.operator);
    const b = await connect(t.operator);
    await eventually(() => a.messages.length && b.messages.length);
    box.openDoor(6, { force: true });
    const saw = (c: typeof a) =>
      c.messages.some(
        (m) => m.type === 'locker' && m.locker.compartments.find((x) => x.door === 6)?.doorState === 'open',
      );
    await eventually(() => saw(a) && saw(b));
    a.ws.close();
    const late = await connect(t.operator);
    const snap = await eventually(() => late.messages.find((m) => m.type === 'snapshot'));
    if (snap.type !== 'snapshot') throw new Error('unreachable');
    expect(snap.lockers[0]?.compartments.find((x) => x.door === 6)?.doorState).toBe('open');
    expect(snap.alarms.some((x) => x.kind === 'door_forced')).toBe(true);
    box.closeDoor(6);
    b.ws.close();
    late.ws.close();
  });
});
