/**
 * What the hub promises waits for the disk: an `events/ack`, the commands that follow from an
 * event, the answer to an API write. The store's syncs go through a disk the test holds, fails or
 * lets through.
 */
import { fdatasync } from 'node:fs';
import mqtt from 'mqtt';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { topic } from '../../devices/index.ts';
import { eventually, startTestHub, type TestHub } from '../helpers/hub.ts';

type Mode = 'pass' | 'hold' | 'fail';
let mode: Mode = 'pass';
let held: Array<(err: NodeJS.ErrnoException | null) => void> = [];
const setMode = (m: Mode) => {
  mode = m;
  if (m === 'hold') return;
  // Whatever was held returns the way the disk now answers.
  for (const done of held.splice(0)) done(m === 'fail' ? eio() : null);
};
const eio = () => Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });

let t: TestHub;
let device: mqtt.MqttClient;
const acks: string[][] = [];
const ref = { site: 'ferme', locker: 'box-1' };

beforeEach(async () => {
  mode = 'pass';
  held = [];
  acks.length = 0;
  t = await startTestHub({
    syncWal: (fd, done) => {
      if (mode === 'pass') fdatasync(fd, done);
      else if (mode === 'fail') setImmediate(() => done(eio()));
      else held.push(done);
    },
  });
  const { password } = t.hub.provisioning.addDevice(ref, 'rural-box-8', 'test');
  device = await mqtt.connectAsync(t.hub.mqttUrl, {
    username: 'ferme/box-1',
    password,
    clientId: 'ferme/box-1',
    reconnectPeriod: 0,
  });
  await device.subscribeAsync(topic(ref, 'events/ack'), { qos: 1 });
  device.on('message', (_t, p) => acks.push(JSON.parse(p.toString()).ids));
});
afterEach(async () => {
  setMode('pass');
  await device.endAsync(true);
  await t.close();
});

const send = (id: string, seq: number) =>
  device.publishAsync(
    topic(ref, 'events'),
    JSON.stringify({ bootId: 'b', events: [{ id, seq, ts: Date.now(), type: 'door.closed', door: 1 }] }),
    { qos: 1 },
  );
const stored = (id: string) =>
  (t.hub.db.prepare('SELECT count(*) FROM device_events WHERE id = ?').pluck().get(id) as number) === 1;
/**
 * A round trip through the hub's broker on the device's own connection: an acknowledgement or
 * answer the hub had sent too early is written to that connection before the SUBACK, so once this
 * resolves it would be here. The syncs are held by the test: nothing the hub does right can come.
 */
const pause = () => device.subscribeAsync(topic(ref, 'events/ack'), { qos: 1 });

it('acknowledges an event once it is on disk, not when it is committed', async () => {
  setMode('hold');
  await send('b-1', 1);
  await eventually(() => stored('b-1'), 5000, 'the event committed');
  await pause();
  expect(acks).toEqual([]);
  setMode('pass');
  await eventually(() => acks.length === 1, 5000, 'the acknowledgement');
  expect(acks).toEqual([['b-1']]);
});

it('withholds the acknowledgement when the disk fails; the re-sent event is applied once', async () => {
  setMode('fail');
  await send('b-1', 1);
  await eventually(() => stored('b-1'), 5000, 'the event committed');
  await eventually(
    async () => /casier_store_syncs_total{result="failed"} [1-9]/.test((await t.api('GET', '/metrics')).body),
    5000,
    'the failed sync counted',
  );
  await pause();
  expect(acks).toEqual([]);
  // The device's outbox sends it again once the disk is back.
  setMode('pass');
  await send('b-1', 1);
  await eventually(() => acks.length === 1, 5000, 'the acknowledgement');
  expect(acks).toEqual([['b-1']]);
  expect(t.hub.db.prepare(`SELECT count(*) FROM events WHERE type = 'door.closed'`).pluck().get()).toBe(1);
});

it('answers an API write once it is on disk', async () => {
  setMode('hold');
  let answered = false;
  const res = t
    .api('POST', '/api/v1/parcels', {
      lockerId: 'box-1',
      size: 'M',
      temperatureClass: 'chilled',
      recipient: { name: 'Camille' },
    })
    .finally(() => {
      answered = true;
    });
  await eventually(
    () => (t.hub.db.prepare('SELECT count(*) FROM parcels').pluck().get() as number) === 1,
    5000,
    'the parcel committed',
  );
  await pause();
  expect(answered).toBe(false);
  // Reads are not held.
  expect((await t.api('GET', '/api/v1/lockers/box-1')).status).toBe(200);
  setMode('pass');
  expect((await res).status).toBe(201);
});

it('answers an API write the disk failed to keep with an error, not a success', async () => {
  setMode('fail');
  const res = await t.api('POST', '/api/v1/parcels', {
    lockerId: 'box-1',
    size: 'M',
    temperatureClass: 'chilled',
    recipient: { name: 'Camille' },
  });
  expect(res.status).toBe(500);
  expect(res.body.error).toEqual({ code: 'HUB_ERR_INTERNAL', message: 'the store could not write to disk' });
});
