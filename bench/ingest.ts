/**
 * 1. Telemetry ingest: cabinets publish temperature readings over TCP as fast as their sockets
 *    take them; the hub validates each message, stores its readings (batched) and runs the
 *    cold-chain rules on them. Measured: readings stored and checked per second, read from the
 *    hub's own counter once it has drained. Baselines, same clients and payloads: a bare aedes
 *    broker (TCP_NODELAY) and Mosquitto relaying every message to one subscriber.
 * 5. Live feed fan-out, during the hub's run: 200 dashboard WebSocket clients receive the
 *    readings deltas. Measured: readings delivered per second, all dashboards summed. Baseline:
 *    the same clients and load through a bare relay (servers/relay-to-ws.ts: aedes whose telemetry
 *    goes untouched to a bare ws server's clients). A bare ws server broadcasting as fast as its
 *    sockets take is no baseline here: the hub can only pass on what its cabinets send, so that
 *    ratio measured the load, not the feed.
 *
 * Every system under test runs in its own process; the clients run here.
 */
import type { MqttClient } from 'mqtt';
import { WebSocket } from 'ws';
import { eachReading, LIVE_PATH, type LiveServerMessage, topic } from '../devices/index.ts';
import { freePort } from '../test/helpers/brokers.ts';
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

const LOCKERS = quick ? 10 : 40;
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
        // A socket that always takes the write resolves at once: without a turn of the event
        // loop now and then, the timer that ends the load would never run.
        sent++;
        if (seq % 64 === 0) await new Promise((r) => setImmediate(r));
      }
    }),
  );
  clearTimeout(timer);
  return { sent, startedAt };
}

async function connectLockers(url: string, auth?: Map<string, string>): Promise<MqttClient[]> {
  const list: MqttClient[] = [];
  for (let i = 1; i <= LOCKERS; i++) {
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
  const clients = await connectLockers(url);
  const { sent, startedAt } = await load(clients);
  // Drained when nothing arrives for half a second.
  while (performance.now() - last < 500) await sleep(100);
  await Promise.all([...clients, sub].map((c) => c.endAsync()));
  if (received < sent * 0.99) console.log(`  (the relay dropped ${sent - received} of ${sent} messages)`);
  return (received * SENSORS.length) / ((last - startedAt) / 1000);
}

/**
 * DASHBOARDS WebSocket clients. Each counts bytes only, as a browser queues them (parsing 200
 * copies here would measure this process); the first also parses and counts the readings, so
 * the readings delivered to all are its count × their bytes / its bytes (they get the same messages).
 */
async function dashboards(url: string, count: (message: Buffer) => number, token?: string) {
  let closing = false;
  const list = await Promise.all(
    Array.from({ length: DASHBOARDS }, async (_, k) => {
      const ws = new WebSocket(url);
      const d = { ws, bytes: 0, last: 0, readings: 0, cut: false };
      ws.on('close', () => {
        if (!closing) d.cut = true;
      });
      ws.on('message', (data: Buffer) => {
        d.bytes += data.length;
        d.last = performance.now();
        if (k === 0) d.readings += count(data);
      });
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      if (token) ws.send(JSON.stringify({ type: 'auth', token }));
      return d;
    }),
  );
  return {
    /** Forgets what came so far (the snapshot is not fan-out). */
    reset() {
      for (const d of list) d.bytes = d.readings = d.last = 0;
    },
    /** Readings one dashboard was shown. */
    shown: () => list[0]?.readings ?? 0,
    /** Readings delivered per second to all of them, from `startedAt` to the last delivery. */
    rate(startedAt: number) {
      const first = list[0];
      if (!first?.bytes) return 0;
      const bytes = list.reduce((s, d) => s + d.bytes, 0);
      const last = Math.max(...list.map((d) => d.last));
      return (first.readings * (bytes / first.bytes)) / ((last - startedAt) / 1000);
    },
    /** Closes them all; says how many the server had cut (too slow). */
    close(what: string) {
      closing = true;
      const cut = list.filter((d) => d.cut).length;
      if (cut) console.log(`  (${what} cut ${cut} of ${list.length} dashboards as too slow)`);
      for (const d of list) d.ws.close();
    },
  };
}

async function hubRun(): Promise<{ readingsPerS: number; fanout: { shown: number; readingsPerS: number } }> {
  const hub = await spawnHub({ lockers: LOCKERS, profile: 'town-locker-16', site: SITE });
  try {
    const clients = await connectLockers(hub.mqttUrl, hub.passwords);
    for (const [i, c] of clients.entries()) await announce(c, { site: SITE, locker: `box-${i + 1}` });
    const live = await dashboards(
      `${hub.httpUrl.replace('http', 'ws')}${LIVE_PATH}`,
      (data) => {
        const m = JSON.parse(data.toString()) as LiveServerMessage;
        let n = 0;
        if (m.type === 'readings') for (const _ of eachReading(m.lockers)) n++;
        return n;
      },
      hub.operator,
    );
    await sleep(500);
    live.reset();
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
    await Promise.all(clients.map((c) => c.endAsync()));
    live.close('the hub');
    return {
      readingsPerS: (stored - before) / ((lastChange - startedAt) / 1000),
      fanout: { shown: live.shown() / (stored - before), readingsPerS: live.rate(startedAt) },
    };
  } finally {
    await hub.stop();
  }
}

/** The bare relay (servers/relay-to-ws.ts) under the same load: readings delivered per second. */
async function relayToWs(): Promise<number> {
  const wsPort = await freePort();
  const server = await spawnServer('relay-to-ws', `${wsPort}`);
  try {
    const url = `mqtt://127.0.0.1:${server.port}`;
    const live = await dashboards(`ws://127.0.0.1:${wsPort}`, (data) => {
      const m = JSON.parse(data.toString()) as { messages: Array<{ readings: unknown[] }> };
      return m.messages.reduce((n, t) => n + t.readings.length, 0);
    });
    const clients = await connectLockers(url);
    live.reset();
    const { startedAt } = await load(clients);
    await Promise.all(clients.map((c) => c.endAsync()));
    // Drained when nothing has arrived for half a second.
    for (let quiet = 0; quiet < 2; ) {
      const before = live.shown();
      await sleep(250);
      quiet = live.shown() === before ? quiet + 1 : 0;
    }
    live.close('the relay');
    return live.rate(startedAt);
  } finally {
    await server.stop();
  }
}

const rows: GoalRow[] = [];
console.log(
  `${LOCKERS} cabinets × ${SENSORS.length} sensors, ${SECONDS} s of load; ${DASHBOARDS} dashboards`,
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
const relayRate = await relayToWs();

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
rows.push({
  benchmark: `live fan-out to ${DASHBOARDS} dashboards`,
  measured: rate(hub.fanout.readingsPerS),
  baseline: `relay ${rate(relayRate)}`,
  ratio: hub.fanout.readingsPerS / relayRate,
  goal: '≥ 0.5×',
  met: hub.fanout.readingsPerS / relayRate >= 0.5,
});
printRows(rows);
console.log(`a dashboard was shown ${(hub.fanout.shown * 100).toFixed(1)} % of the readings stored`);
console.log(
  `written to ${writeResult('ingest', { quick, lockers: LOCKERS, seconds: SECONDS, dashboards: DASHBOARDS, aedesRate, mosquittoRate, hub, relayRate, rows })}`,
);
process.exit(0);
