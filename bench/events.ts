/**
 * 2. Device events: cabinets publish compartment events (goods present / taken, from the item
 *    sensors) at QoS 1; the hub validates them, deduplicates them by id, applies them (the
 *    hash-chained ledger) in a transaction shared by whatever arrived together and, once an
 *    fdatasync of the write-ahead log covers it, acknowledges them on `events/ack`. Each cabinet
 *    keeps one event in flight, sending the next once the previous one is acknowledged (a
 *    cabinet's door events come seconds apart; in a burst the bridge sends without waiting,
 *    several events to a message). Measured: events committed and acknowledged per second.
 *    Baseline: Mosquitto relaying QoS 1 messages of the same size from the same number of
 *    publishers to one subscriber, each publisher sending its next once the previous arrived.
 *    For reference, what durability alone costs: the same cabinets against a relay that appends
 *    each message to a log and acknowledges it once a sync of that log covers it
 *    (servers/durable-relay.ts), with nothing checked, stored in a table or applied.
 */
import type { MqttClient } from 'mqtt';
import { topic } from '../devices/index.ts';
import {
  announce,
  connect,
  type GoalRow,
  hasMosquitto,
  histogram,
  printRows,
  quantileBetween,
  quick,
  spawnDurableRelay,
  spawnHub,
  spawnMosquitto,
} from './lib.ts';
import { writeResult } from './stats.ts';

const LOCKERS = quick ? 8 : 20;
const SECONDS = quick ? 4 : 15;
const SITE = 'bench';

const message = (seq: number, door: number) =>
  JSON.stringify({
    bootId: 'bench',
    events: [
      { id: `bench-${seq}`, seq, ts: Date.now(), type: 'presence.changed', door, present: seq % 2 === 1 },
    ],
  });

/** Runs `one(i)` in a closed loop on each of LOCKERS workers for SECONDS; returns completions/s. */
async function closedLoop(one: (i: number, n: number) => Promise<void>): Promise<number> {
  let done = 0;
  let stop = false;
  const timer = setTimeout(() => {
    stop = true;
  }, SECONDS * 1000);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: LOCKERS }, async (_, i) => {
      for (let n = 1; !stop; n++) {
        await one(i, n);
        done++;
      }
    }),
  );
  clearTimeout(timer);
  return done / ((performance.now() - t0) / 1000);
}

/** What the hub's disk did meanwhile: syncs of the log, their median, events covered by each. */
let disk = '';

/**
 * Events committed and acknowledged a second by the system at `url`: each cabinet sends its next
 * event once `events/ack` named the previous one. `passwords`: the hub's cabinet credentials.
 */
async function ackedRate(url: string, passwords?: Map<string, string>): Promise<number> {
  const clients: MqttClient[] = [];
  try {
    const waiting = new Map<string, () => void>();
    for (let i = 1; i <= LOCKERS; i++) {
      const ref = { site: SITE, locker: `box-${i}` };
      const c = await connect(url, {
        clientId: `${SITE}/box-${i}`,
        ...(passwords ? { username: `${SITE}/box-${i}`, password: passwords.get(`box-${i}`) } : {}),
      });
      await c.subscribeAsync(topic(ref, 'events/ack'), { qos: 1 });
      c.on('message', (_t, p) => {
        for (const id of (JSON.parse(p.toString()) as { ids: string[] }).ids) {
          waiting.get(`${i}/${id}`)?.();
          waiting.delete(`${i}/${id}`);
        }
      });
      await announce(c, ref);
      clients.push(c);
    }
    return await closedLoop(async (i, n) => {
      const acked = new Promise<void>((resolve) => waiting.set(`${i + 1}/bench-${n}`, resolve));
      await (clients[i] as MqttClient).publishAsync(
        topic({ site: SITE, locker: `box-${i + 1}` }, 'events'),
        message(n, 1 + (i % 16)),
        { qos: 1 },
      );
      await acked;
    });
  } finally {
    await Promise.all(clients.map((c) => c.endAsync()));
  }
}

async function hubRate(): Promise<number> {
  const hub = await spawnHub({ lockers: LOCKERS, profile: 'town-locker-16', site: SITE });
  try {
    // Every sync of the log is one observation of this histogram: its count is the number of syncs.
    const histFrom = await histogram(hub.httpUrl, 'casier_store_sync_seconds');
    const rate = await ackedRate(hub.mqttUrl, hub.passwords);
    const hist = await histogram(hub.httpUrl, 'casier_store_sync_seconds');
    const all = Number.POSITIVE_INFINITY;
    const n = (hist.get(all) ?? 0) - (histFrom.get(all) ?? 0);
    disk = `hub: ${Math.round(n / SECONDS).toLocaleString('en')} syncs of the log a second, p50 ≤ ${quantileBetween(histFrom, hist, 0.5)} ms, ${((rate * SECONDS) / n).toFixed(1)} events each`;
    return rate;
  } finally {
    await hub.stop();
  }
}

async function durableRate(): Promise<number> {
  const relay = await spawnDurableRelay();
  try {
    return await ackedRate(relay.url);
  } finally {
    await relay.stop();
  }
}

async function mosquittoRate(): Promise<number> {
  const m = await spawnMosquitto();
  const pubs: MqttClient[] = [];
  try {
    const sub = await connect(m.url, { clientId: 'subscriber' });
    pubs.push(sub);
    const waiting = new Map<string, () => void>();
    sub.on('message', (t) => {
      waiting.get(t)?.();
      waiting.delete(t);
    });
    await sub.subscribeAsync('relay/#', { qos: 1 });
    const publishers: MqttClient[] = [];
    for (let i = 0; i < LOCKERS; i++) publishers.push(await connect(m.url, { clientId: `pub-${i}` }));
    pubs.push(...publishers);
    return await closedLoop(async (i, n) => {
      const t = `relay/${i}/${n}`;
      const arrived = new Promise<void>((resolve) => waiting.set(t, resolve));
      await (publishers[i] as MqttClient).publishAsync(t, message(n, 1 + (i % 16)), { qos: 1 });
      await arrived;
    });
  } finally {
    await Promise.all(pubs.map((c) => c.endAsync()));
    await m.stop();
  }
}

console.log(`${LOCKERS} cabinets, one event in flight each, ${SECONDS} s`);
const hub = await hubRate();
const durable = await durableRate();
const rows: GoalRow[] = [];
const rate = (n: number) => `${Math.round(n).toLocaleString('en')} /s`;
let baseline: number | null = null;
if (hasMosquitto()) {
  baseline = await mosquittoRate();
  rows.push({
    benchmark: 'events: committed + acknowledged',
    measured: rate(hub),
    baseline: `mosquitto QoS1 ${rate(baseline)}`,
    ratio: hub / baseline,
    goal: '≥ 1.0×',
    met: hub / baseline >= 1,
  });
} else console.log('mosquitto not installed, no baseline for the goal (apt-get install mosquitto)');
// What durability alone costs: the same acknowledgement after a sync of a plain log.
rows.push({
  benchmark: 'events: vs a relay that syncs',
  measured: rate(hub),
  baseline: `durable relay ${rate(durable)}`,
  ratio: hub / durable,
  goal: '',
  met: true,
});
printRows(rows);
console.log(disk);
console.log(
  `written to ${writeResult('events', { quick, lockers: LOCKERS, seconds: SECONDS, hub, baseline, durable, rows })}`,
);
process.exit(0);
