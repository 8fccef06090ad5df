/**
 * 1. Telemetry ingest: cabinets publish temperature readings over TCP as fast as their sockets
 *    take them; the hub validates each message, stores its readings (batched) and runs the
 *    cold-chain rules on them. Measured: readings stored and checked per second, read from the
 *    hub's own counter once it has drained. Baselines, same clients and payloads: a bare aedes
 *    broker (TCP_NODELAY) and Mosquitto relaying every message to one subscriber.
 * 5. Live feed fan-out, during the hub's run: 200 dashboard WebSocket clients receive the
 *    readings deltas. Baseline: a bare ws server broadcasting messages of the same size to 200
 *    clients as fast as they take them. Measured: bytes delivered per second, all clients summed.
 *
 * Every system under test runs in its own process; the clients run here.
 */
import type { MqttClient } from 'mqtt';
import { WebSocket } from 'ws';
import { LIVE_PATH, topic } from '../devices/index.ts';
import {
  announce,
  connect,
  type GoalRow,
  hasMosquitto,
  metric,
  printRows,
  quick,
  sleep,
  spawnAedes,
  spawnHub,
  spawnMosquitto,
  spawnServer,
} from './lib.ts';
import { writeResult } from './stats.ts';

const CABINETS = quick ? 10 : 40;
const SECONDS = quick ? 4 : 15;
const SENSORS = ['t7', 't8', 't9', 't10', 't15', 't16']; // town-locker-16
const DASHBOARDS = quick ? 50 : 200;
const SITE = 'bench';

/** Publishes telemetry from every cabinet for SECONDS; returns the messages sent. */
async function load(clients: MqttClient[]): Promise<{ sent: number; startedAt: number }> {
  let sent = 0;
  let stop = false;
  const startedAt = performance.now();
  const timer = setTimeout(() => {
    stop = true;
  }, SECONDS * 1000);
  await Promise.all(
    clients.map(async (c, i) => {
      const ref = { site: SITE, locker: `box-${i + 1}` };
      const t = topic(ref, 'telemetry');
      let seq = 0;
      let ts = Date.now();
      while (!stop) {
        // Strictly increasing per cabinet: every reading is new, so every one is checked.
        ts = Math.max(Date.now(), ts + 1);
        const payload = JSON.stringify({
          bootId: 'bench',
          seq: ++seq,
          ts,
          readings: SENSORS.map((sensor, k) => ({ sensor, c: 3 + ((seq + k) % 10) / 10 })),
        });
        await c.publishAsync(t, payload, { qos: 0 });
        sent++;
      }
    }),
  );
  clearTimeout(timer);
  return { sent, startedAt };
}

async function cabinets(url: string, auth?: Map<string, string>): Promise<MqttClient[]> {
  const list: MqttClient[] = [];
  for (let i = 1; i <= CABINETS; i++) {
    const locker = `box-${i}`;
    list.push(
      await connect(url, {
        clientId: `${SITE}/${locker}`,
        ...(auth ? { username: `${SITE}/${locker}`, password: auth.get(locker) } : {}),
      }),
    );
  }
  return list;
}

/** A relay: one subscriber counts what the broker forwards. Readings per second. */
async function relay(url: string): Promise<number> {
  const sub = await connect(url, { clientId: 'subscriber' });
  let received = 0;
  let last = 0;
  sub.on('message', () => {
    received++;
    last = performance.now();
  });
  await sub.subscribeAsync(`casier/v1/${SITE}/+/telemetry`, { qos: 0 });
  const clients = await cabinets(url);
  const { sent, startedAt } = await load(clients);
  // Drained when nothing arrives for half a second.
  while (performance.now() - last < 500) await sleep(100);
  await Promise.all([...clients, sub].map((c) => c.endAsync()));
  if (received < sent * 0.99) console.log(`  (the relay dropped ${sent - received} of ${sent} messages)`);
  return (received * SENSORS.length) / ((last - startedAt) / 1000);
}

async function hubRun(): Promise<{
  readingsPerS: number;
  fanout: { shown: number; bytesPerS: number; messageBytes: number };
}> {
  const hub = await spawnHub({ cabinets: CABINETS, profile: 'town-locker-16', site: SITE });
  try {
    const clients = await cabinets(hub.mqttUrl, hub.passwords);
    for (const [i, c] of clients.entries()) await announce(c, { site: SITE, locker: `box-${i + 1}` });
    // The dashboards: each signs in and counts what it receives (bytes only, as a browser would
    // queue them; parsing 200 copies here would measure this process, not the hub).
    const dashboards = await Promise.all(
      Array.from({ length: DASHBOARDS }, async (_, k) => {
        const ws = new WebSocket(`${hub.httpUrl.replace('http', 'ws')}${LIVE_PATH}`);
        const d = { ws, bytes: 0, messages: 0, last: 0, readings: 0 };
        ws.on('message', (data: Buffer) => {
          d.bytes += data.length;
          d.messages++;
          d.last = performance.now();
          // One dashboard also counts the readings it was shown: did it see every stored one?
          if (k === 0) {
            const m = JSON.parse(data.toString()) as { type: string; readings?: unknown[] };
            if (m.type === 'readings') d.readings += m.readings?.length ?? 0;
          }
        });
        await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
        ws.send(JSON.stringify({ type: 'auth', token: hub.operator }));
        return d;
      }),
    );
    await sleep(500);
    for (const d of dashboards) d.bytes = d.messages = d.readings = 0; // the snapshot is not fan-out
    const before = await metric(hub.httpUrl, 'casier_readings_total', 'result="stored"');
    const { startedAt } = await load(clients);
    let stored = before;
    let lastChange = performance.now();
    for (;;) {
      await sleep(250);
      const now = await metric(hub.httpUrl, 'casier_readings_total', 'result="stored"');
      if (now === stored && performance.now() - lastChange > 750) break;
      if (now !== stored) {
        stored = now;
        lastChange = performance.now();
      }
    }
    const seconds = (lastChange - startedAt) / 1000;
    const bytes = dashboards.reduce((s, d) => s + d.bytes, 0);
    const messages = dashboards.reduce((s, d) => s + d.messages, 0);
    const lastDelivery = Math.max(...dashboards.map((d) => d.last));
    await Promise.all(clients.map((c) => c.endAsync()));
    for (const d of dashboards) d.ws.close();
    return {
      readingsPerS: (stored - before) / seconds,
      fanout: {
        /** The share of the readings stored that a dashboard was shown. */
        shown: (dashboards[0]?.readings ?? 0) / (stored - before),
        bytesPerS: bytes / ((lastDelivery - startedAt) / 1000),
        messageBytes: messages ? bytes / messages : 0,
      },
    };
  } finally {
    await hub.stop();
  }
}

/** The bare ws server: the same number of clients, messages of the hub's average size. */
async function wsBaseline(messageBytes: number): Promise<number> {
  const server = await spawnServer('ws-broadcast');
  const { port, child } = server;
  const clients = await Promise.all(
    Array.from({ length: DASHBOARDS }, async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}`);
      const c = { ws, bytes: 0, last: 0 };
      ws.on('message', (data: Buffer) => {
        c.bytes += data.length;
        c.last = performance.now();
      });
      await new Promise((resolve) => ws.once('open', resolve));
      return c;
    }),
  );
  const n = quick ? 200 : 1000;
  const t0 = performance.now();
  child.stdin?.write(`go ${n} ${Math.max(64, Math.round(messageBytes))}\n`);
  const expected = n * DASHBOARDS;
  for (;;) {
    await sleep(100);
    const got = clients.reduce((s, c) => s + (c.bytes > 0 ? 1 : 0), 0);
    const last = Math.max(...clients.map((c) => c.last));
    if (got === DASHBOARDS && performance.now() - last > 300) break;
  }
  const bytes = clients.reduce((s, c) => s + c.bytes, 0);
  const last = Math.max(...clients.map((c) => c.last));
  for (const c of clients) c.ws.close();
  await server.stop();
  if (bytes < expected * messageBytes * 0.99)
    console.log('  (the bare ws server delivered less than it sent)');
  return bytes / ((last - t0) / 1000);
}

const rows: GoalRow[] = [];
console.log(
  `${CABINETS} cabinets × ${SENSORS.length} sensors, ${SECONDS} s of load; ${DASHBOARDS} dashboards`,
);
const aedes = await spawnAedes();
const aedesRate = await relay(aedes.url);
await aedes.stop();
let mosquittoRate: number | null = null;
if (hasMosquitto()) {
  const m = await spawnMosquitto();
  mosquittoRate = await relay(m.url);
  await m.stop();
} else console.log('  mosquitto not installed: that baseline is skipped (Debian: apt-get install mosquitto)');
const hub = await hubRun();
const wsRate = await wsBaseline(hub.fanout.messageBytes);

const rate = (n: number) => `${Math.round(n).toLocaleString('en')} /s`;
rows.push({
  benchmark: 'ingest: readings stored+checked',
  measured: rate(hub.readingsPerS),
  baseline: `aedes ${rate(aedesRate)}`,
  ratio: hub.readingsPerS / aedesRate,
  goal: '≥ 0.6×',
  met: hub.readingsPerS / aedesRate >= 0.6,
});
if (mosquittoRate)
  rows.push({
    benchmark: 'ingest: readings stored+checked',
    measured: rate(hub.readingsPerS),
    baseline: `mosquitto ${rate(mosquittoRate)}`,
    ratio: hub.readingsPerS / mosquittoRate,
    goal: '≥ 1.0×',
    met: hub.readingsPerS / mosquittoRate >= 1,
  });
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB/s`;
rows.push({
  benchmark: `live fan-out to ${DASHBOARDS} dashboards`,
  measured: mib(hub.fanout.bytesPerS),
  baseline: `bare ws ${mib(wsRate)}`,
  ratio: hub.fanout.bytesPerS / wsRate,
  goal: '≥ 0.5×',
  met: hub.fanout.bytesPerS / wsRate >= 0.5,
});
printRows(rows);
console.log(`a dashboard was shown ${(hub.fanout.shown * 100).toFixed(1)} % of the readings stored`);
console.log(
  `written to ${writeResult('ingest', { quick, cabinets: CABINETS, seconds: SECONDS, dashboards: DASHBOARDS, aedesRate, mosquittoRate, hub, wsRate, rows })}`,
);
process.exit(0);
