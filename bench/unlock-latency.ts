/**
 * Code → unlock latency: a cabinet publishes a keypad entry with a valid code; the clock stops
 * when the unlock command arrives. The hub validates the message, checks the code, writes the
 * event, the ledger and the command in one transaction, waits for it to be on disk, then publishes.
 *
 * Baseline, same run, same machine: a bare aedes broker with TCP_NODELAY, a "device" client
 * publishing a message of the same size and a responder client answering it at once: the cost
 * of the two MQTT hops alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { topic } from '../devices/index.ts';
import { startHub } from '../hub/service.ts';
import { summary, writeResult } from './stats.ts';

const quick = process.argv.includes('--quick');
const SAMPLES = quick ? 300 : 2000;
const WARMUP = 50;

function noDelay(c: mqtt.MqttClient) {
  (c.stream as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true);
}

async function baseline(): Promise<number[]> {
  const broker = await Aedes.createBroker();
  const server = createServer({ noDelay: true }, broker.handle as never);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`;
  const device = await mqtt.connectAsync(url, { clientId: 'device' });
  const responder = await mqtt.connectAsync(url, { clientId: 'responder' });
  noDelay(device);
  noDelay(responder);
  await responder.subscribeAsync('req', { qos: 1 });
  await device.subscribeAsync('res', { qos: 1 });
  responder.on('message', (_t, p) => responder.publish('res', p, { qos: 1 }));
  const payload = JSON.stringify({
    bootId: 'b',
    events: [{ id: 'b-000001', seq: 1, ts: Date.now(), type: 'keypad.entry', code: '12345678' }],
  });
  const samples: number[] = [];
  for (let i = 0; i < SAMPLES + WARMUP; i++) {
    const got = new Promise((r) => device.once('message', r));
    const t0 = performance.now();
    device.publish('req', payload, { qos: 1 });
    await got;
    if (i >= WARMUP) samples.push(performance.now() - t0);
  }
  await device.endAsync();
  await responder.endAsync();
  await new Promise<void>((r) => broker.close(() => r()));
  server.close();
  return samples;
}

async function casier(): Promise<number[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'casier-bench-'));
  const hub = await startHub({
    dataDir,
    host: '127.0.0.1',
    httpPort: 0,
    mqttPort: 0,
    codeDigits: 8,
    logLevel: 'warn',
  });
  const ref = { site: 'bench', locker: 'box-1' };
  const { password } = hub.provisioning.addDevice(ref, 'town-locker-16', 'bench');
  const device = await mqtt.connectAsync(hub.mqttUrl, {
    username: 'bench/box-1',
    password,
    clientId: 'bench/box-1',
  });
  noDelay(device);
  await device.subscribeAsync([topic(ref, 'commands'), topic(ref, 'events/ack')], { qos: 1 });
  await device.publishAsync(
    topic(ref, 'state'),
    JSON.stringify({ online: true, bootId: 'b', fw: 'bench', profile: 'town-locker-16', ts: Date.now() }),
    { qos: 1, retain: true },
  );
  let seq = 0;
  const send = (events: object[]) =>
    device.publish(
      topic(ref, 'events'),
      JSON.stringify({
        bootId: 'b',
        events: events.map((e) => ({ ...e, id: `b-${++seq}`, seq, ts: Date.now() })),
      }),
      { qos: 1 },
    );
  const unlockFor = () =>
    new Promise<{ id: string; door: number }>((resolve) => {
      const on = (t: string, p: Buffer) => {
        if (!t.endsWith('/commands')) return;
        const c = JSON.parse(p.toString());
        if (c.type !== 'unlock') return;
        device.off('message', on);
        resolve(c);
      };
      device.on('message', on);
    });
  device.on('message', (t, p) => {
    if (!t.endsWith('/commands')) return;
    const c = JSON.parse(p.toString());
    device.publish(topic(ref, 'commands/result'), JSON.stringify({ id: c.id, ok: true, ts: Date.now() }), {
      qos: 1,
    });
  });
  const samples: number[] = [];
  const time = async (code: string) => {
    const got = unlockFor();
    const t0 = performance.now();
    send([{ type: 'keypad.entry', code }]);
    const cmd = await got;
    const ms = performance.now() - t0;
    send([
      { type: 'door.opened', door: cmd.door },
      { type: 'door.closed', door: cmd.door },
    ]);
    return ms;
  };
  for (let i = 0; samples.length < SAMPLES; i++) {
    const created = hub.parcels.create(
      { lockerId: 'box-1', size: 'S', temperatureClass: 'ambient', recipient: { name: 'bench' } },
      'bench',
    );
    const deposit = await time(created.depositCode);
    await waitState(hub, created.parcel.id, 'stored');
    const pickup = await time(created.pickupCode);
    await waitState(hub, created.parcel.id, 'picked_up');
    if (i * 2 >= WARMUP) samples.push(deposit, pickup);
  }
  await device.endAsync();
  await hub.stop();
  rmSync(dataDir, { recursive: true, force: true });
  return samples;
}

async function waitState(hub: Awaited<ReturnType<typeof startHub>>, id: string, state: string) {
  while (hub.parcels.get(id).state !== state) await new Promise((r) => setImmediate(r));
}

const base = summary(await baseline());
const hub = summary(await casier());
const fmt = (n: number) => n.toFixed(3);
console.log(`code → unlock latency, ${hub.n} samples (ms)`);
console.log('                       p50     p90     p99     max');
console.log(`bare aedes relay     ${[base.p50, base.p90, base.p99, base.max].map(fmt).join('   ')}`);
console.log(`casier hub           ${[hub.p50, hub.p90, hub.p99, hub.max].map(fmt).join('   ')}`);
console.log(
  `ratio hub/baseline   p50 ${(hub.p50 / base.p50).toFixed(2)}×, p99 ${(hub.p99 / base.p99).toFixed(2)}×`,
);
const file = writeResult('unlock-latency', {
  samples: hub.n,
  baseline: base,
  hub,
  ratio: { p50: hub.p50 / base.p50, p99: hub.p99 / base.p99 },
  rows: [
    {
      benchmark: 'code → unlock p50, idle hub',
      measured: `${fmt(hub.p50)} ms`,
      baseline: `aedes relay ${fmt(base.p50)} ms`,
      ratio: hub.p50 / base.p50,
      goal: '',
      met: true,
    },
  ],
});
console.log(`written to ${file}`);
process.exit(0);
