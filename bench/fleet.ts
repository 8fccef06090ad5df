/**
 * A whole region on one hub.
 * 4. Fleet footprint: N connected cabinets (2,000; 200 with --quick), town lockers of 16 doors
 *    whose 6 sensors each send a reading every 30 s (the hub drops ids not in the profile): the hub's resident memory and CPU (from /proc), and
 *    memory per connected cabinet (resident memory with the fleet minus before it, over N).
 * 3. Code → unlock latency under the fleet: every cabinet now sends telemetry once a second while
 *    one of them types deposit and pickup codes; timed from the keypad entry's publish to the
 *    unlock command's arrival. Baseline: the same fleet and traffic on Mosquitto, with an external
 *    responder client answering each keypad entry with a command at once. For reference, what
 *    durability alone costs: the same fleet on a relay that answers each keypad entry once a sync
 *    of its log covers it (servers/durable-relay.ts), as the hub answers once its store's log is
 *    synced.
 */
import type { MqttClient } from 'mqtt';
import { findProfile, topic } from '../devices/index.ts';
import { DEFAULT_PRE_LOGIN_LIMITS } from '../hub/broker/pre-login.ts';
import {
  announce,
  connect,
  type GoalRow,
  hasMosquitto,
  histogram,
  printRows,
  quantileBetween,
  quick,
  sleep,
  spawnDurableRelay,
  spawnHub,
  spawnMosquitto,
  usage,
} from './lib.ts';
import { summary, writeResult } from './stats.ts';

const LOCKERS = Number(process.env.BENCH_FLEET_CABINETS) || (quick ? 200 : 2000);
const FOOTPRINT_S = quick ? 10 : 60;
const SAMPLES = quick ? 200 : 1000;
const SITE = 'fleet';
// The profile's own sensors: the hub drops readings of any other id (and counts them).
const READINGS = (findProfile('town-locker-16')?.sensors ?? []).map((x) => x.id);
const ref = (i: number) => ({ site: SITE, locker: `box-${i}` });

/**
 * Connects cabinets `from`..`to`, as many at a time as the hub lets one address have connections
 * not logged in (they all come from loopback); returns their clients in order.
 */
async function fleet(
  url: string,
  passwords?: Map<string, string>,
  from = 1,
  to = LOCKERS,
): Promise<MqttClient[]> {
  const clients: MqttClient[] = new Array(to - from + 1);
  const batch = DEFAULT_PRE_LOGIN_LIMITS.perAddress;
  for (let start = from; start <= to; start += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, to - start + 1) }, async (_, k) => {
        const i = start + k;
        const c = await connect(url, {
          clientId: `${SITE}/box-${i}`,
          keepalive: 60,
          ...(passwords ? { username: `${SITE}/box-${i}`, password: passwords.get(`box-${i}`) } : {}),
        });
        await announce(c, ref(i), 'fleet');
        clients[i - from] = c;
      }),
    );
  }
  return clients;
}

/** Resident memory, averaged over a few seconds (the collector makes single readings jump). */
async function steadyRss(pid: number): Promise<number> {
  let sum = 0;
  for (let i = 0; i < 10; i++) {
    sum += usage(pid).rssMiB;
    await sleep(300);
  }
  return sum / 10;
}

/** Every cabinet reports every `everyMs`, phases spread evenly; returns a stop function. */
/** Bytes of telemetry payload the fleet has sent. */
let sentBytes = 0;

function telemetry(clients: MqttClient[], everyMs: number): () => void {
  let seq = 0;
  const timers = clients.map((c, k) => {
    const send = () => {
      const payload = JSON.stringify({
        bootId: 'fleet',
        seq: ++seq,
        ts: Date.now(),
        readings: READINGS.map((sensor) => ({ sensor, c: 3 + Math.random() })),
      });
      sentBytes += Buffer.byteLength(payload);
      c.publish(topic(ref(k + 1), 'telemetry'), payload, { qos: 0 });
    };
    let interval: NodeJS.Timeout | undefined;
    const phase = setTimeout(
      () => {
        send();
        interval = setInterval(send, everyMs);
      },
      (k * everyMs) / clients.length,
    );
    return () => {
      clearTimeout(phase);
      clearInterval(interval);
    };
  });
  return () => {
    for (const stop of timers) stop();
  };
}

/** Waits for the next `commands` message of `type` on box-1. */
function nextCommand(box: MqttClient, type: string): Promise<{ id: string; door: number }> {
  return new Promise((resolve) => {
    const on = (t: string, p: Buffer) => {
      if (!t.endsWith('/commands')) return;
      const c = JSON.parse(p.toString());
      if (c.type !== type) return;
      box.off('message', on);
      resolve(c);
    };
    box.on('message', on);
  });
}

let eventSeq = 0;
/** Publishes events from box-1; returns the id of the last one. */
function keypad(box: MqttClient, events: object[]): string {
  const first = eventSeq + 1;
  box.publish(
    topic(ref(1), 'events'),
    JSON.stringify({
      bootId: 'fleet',
      events: events.map((e) => ({ ...e, id: `k-${++eventSeq}`, seq: eventSeq, ts: Date.now() })),
    }),
    { qos: 1 },
  );
  return `k-${first + events.length - 1}`;
}

/** Resolves when the hub acknowledges event `id` from box-1: it is applied and on disk. */
function acked(box: MqttClient, id: string): Promise<void> {
  return new Promise((resolve) => {
    const on = (t: string, p: Buffer) => {
      if (!t.endsWith('/events/ack') || !(JSON.parse(p.toString()).ids as string[]).includes(id)) return;
      box.off('message', on);
      resolve();
    };
    box.on('message', on);
  });
}

async function hubRun() {
  const hub = await spawnHub({ lockers: LOCKERS, profile: 'town-locker-16', site: SITE });
  try {
    const pid = hub.child.pid as number;
    // Memory per cabinet, all included: the hub's growth from idle (its store already holding the
    // fleet) to every cabinet connected and reporting, over the number of cabinets. The growth from
    // half the fleet to all of it was tried: the heap of the first half's arrival stays, so it
    // read anywhere from 4 to 70 KiB.
    const idleRss = await steadyRss(pid);
    const clients = await fleet(hub.mqttUrl, hub.passwords, 1, LOCKERS);
    const box = clients[0] as MqttClient;
    await box.subscribeAsync([topic(ref(1), 'commands'), topic(ref(1), 'events/ack')], { qos: 1 });
    box.on('message', (t, p) => {
      if (!t.endsWith('/commands')) return;
      const c = JSON.parse(p.toString()) as { id: string };
      box.publish(topic(ref(1), 'commands/result'), JSON.stringify({ id: c.id, ok: true, ts: Date.now() }), {
        qos: 1,
      });
    });

    // 4. Footprint at one reading per compartment every 30 s.
    let stop = telemetry(clients, 30_000);
    await sleep(3000);
    const before = usage(pid);
    const sentBefore = sentBytes;
    await sleep(FOOTPRINT_S * 1000);
    const after = usage(pid);
    const seconds = (after.at - before.at) / 1000;
    const fullRss = await steadyRss(pid);
    stop();
    const footprint = {
      rssMiB: Math.max(after.rssMiB, fullRss),
      cpuPercent: ((after.cpuS - before.cpuS) / FOOTPRINT_S) * 100,
      perLockerKiB: ((fullRss - idleRss) * 1024) / LOCKERS,
      /** Bytes a second the hub sent to its disk, and the telemetry payloads it received meanwhile. */
      diskBps: (after.writtenB - before.writtenB) / seconds,
      receivedBps: (sentBytes - sentBefore) / seconds,
    };

    // 3. Latency with every cabinet reporting once a second.
    stop = telemetry(clients, 1000);
    await sleep(2000);
    const busyFrom = usage(pid);
    const syncsFrom = await histogram(hub.httpUrl, 'casier_store_sync_seconds');
    const samples: number[] = [];
    const headers = { authorization: `Bearer ${hub.operator}`, 'content-type': 'application/json' };
    const stateOf = async (id: string) =>
      (await (await fetch(`${hub.httpUrl}/api/v1/parcels/${id}`, { headers })).json()).state as string;
    // Timed from the keypad entry to the unlock; then the door opens and closes, and the next
    // code is typed once the hub acknowledged that (the parcel's state is checked, not polled:
    // polling every 2 ms loaded the hub with 500 requests a second between samples).
    const time = async (code: string, id: string, then: string) => {
      const got = nextCommand(box, 'unlock');
      const t0 = performance.now();
      keypad(box, [{ type: 'keypad.entry', code }]);
      const cmd = await got;
      const ms = performance.now() - t0;
      // The listener is in place before the acknowledgement can arrive (the next turn at the earliest).
      await acked(
        box,
        keypad(box, [
          { type: 'door.opened', door: cmd.door },
          { type: 'door.closed', door: cmd.door },
        ]),
      );
      const state = await stateOf(id);
      if (state !== then) throw new Error(`the parcel is ${state} after its door closed, not ${then}`);
      return ms;
    };
    while (samples.length < SAMPLES) {
      const res = await fetch(`${hub.httpUrl}/api/v1/parcels`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          lockerId: 'box-1',
          size: 'S',
          temperatureClass: 'ambient',
          recipient: { name: 'bench' },
        }),
      });
      const created = (await res.json()) as {
        parcel: { id: string };
        depositCode: string;
        pickupCode: string;
      };
      samples.push(await time(created.depositCode, created.parcel.id, 'stored'));
      samples.push(await time(created.pickupCode, created.parcel.id, 'picked_up'));
    }
    const busyTo = usage(pid);
    // The disk's share: an unlock leaves only once a sync of the log covers the keypad entry.
    const syncsTo = await histogram(hub.httpUrl, 'casier_store_sync_seconds');
    const syncMs = {
      p50: quantileBetween(syncsFrom, syncsTo, 0.5),
      p99: quantileBetween(syncsFrom, syncsTo, 0.99),
    };
    stop();
    await Promise.all(clients.map((c) => c.endAsync()));
    const busyCpu = ((busyTo.cpuS - busyFrom.cpuS) / ((busyTo.at - busyFrom.at) / 1000)) * 100;
    return { footprint, latency: summary(samples), busyCpu, syncMs };
  } finally {
    await hub.stop();
  }
}

/**
 * The same fleet and keypad entries on a relay: Mosquitto with an external responder client that
 * answers each keypad entry with a command at once, or (`durable`) the durable relay, which
 * answers once a sync of its log covers the entry.
 */
async function relayRun(durable: boolean) {
  const relay = durable ? await spawnDurableRelay() : await spawnMosquitto();
  const others: MqttClient[] = [];
  try {
    const clients = await fleet(relay.url);
    others.push(...clients);
    const box = clients[0] as MqttClient;
    await box.subscribeAsync(topic(ref(1), 'commands'), { qos: 1 });
    if (!durable) {
      const responder = await connect(relay.url, { clientId: 'responder' });
      others.push(responder);
      await responder.subscribeAsync(`casier/v1/${SITE}/+/events`, { qos: 1 });
      responder.on('message', (t, p) => {
        const ev = JSON.parse(p.toString()).events[0];
        if (ev?.type !== 'keypad.entry') return;
        responder.publish(
          t.replace(/events$/, 'commands'),
          JSON.stringify({ id: ev.id, type: 'unlock', door: 1 }),
          {
            qos: 1,
          },
        );
      });
    }
    const stop = telemetry(clients, 1000);
    await sleep(2000);
    const samples: number[] = [];
    while (samples.length < SAMPLES) {
      const got = nextCommand(box, 'unlock');
      const t0 = performance.now();
      keypad(box, [{ type: 'keypad.entry', code: '12345678' }]);
      await got;
      samples.push(performance.now() - t0);
    }
    stop();
    return summary(samples);
  } finally {
    await Promise.all(others.map((c) => c.endAsync()));
    await relay.stop();
  }
}

console.log(`${LOCKERS} cabinets × ${READINGS.length} sensors`);
const hub = await hubRun();
const base = hasMosquitto() ? await relayRun(false) : null;
const durable = await relayRun(true);
const ms = (n: number) => `${n.toFixed(2)} ms`;
const rows: GoalRow[] = [
  {
    benchmark: `footprint: hub RSS, ${LOCKERS} cabinets`,
    measured: `${hub.footprint.rssMiB.toFixed(0)} MiB`,
    baseline: 'limit 300 MiB',
    ratio: hub.footprint.rssMiB / 300,
    goal: '≤ 1.0×',
    met: hub.footprint.rssMiB <= 300,
  },
  {
    benchmark: 'footprint: hub CPU, one reading/30 s',
    measured: `${hub.footprint.cpuPercent.toFixed(1)} % core`,
    baseline: 'limit 40 %',
    ratio: hub.footprint.cpuPercent / 40,
    goal: '≤ 1.0×',
    met: hub.footprint.cpuPercent <= 40,
  },
  // A hundred cabinets' worth of memory is lost in the collector's swings: full mode only.
  ...(quick
    ? []
    : [
        {
          benchmark: 'footprint: memory per cabinet',
          measured: `${hub.footprint.perLockerKiB.toFixed(1)} KiB`,
          baseline: 'limit 80 KiB',
          ratio: hub.footprint.perLockerKiB / 80,
          goal: '≤ 1.0×',
          met: hub.footprint.perLockerKiB <= 80,
        },
      ]),
  // What an SD card would take (reference, no goal): SQLite's log, its checkpoints and the syncs.
  {
    benchmark: 'footprint: disk writes, one reading/30 s',
    measured: `${(hub.footprint.diskBps / 1024).toFixed(0)} KiB/s, ${((hub.footprint.diskBps * 86_400) / 2 ** 30).toFixed(1)} GiB/day`,
    baseline: `telemetry received ${(hub.footprint.receivedBps / 1024).toFixed(0)} KiB/s`,
    ratio: hub.footprint.diskBps / hub.footprint.receivedBps,
    goal: '',
    met: true,
  },
  {
    benchmark: 'code → unlock p50 under the fleet',
    measured: ms(hub.latency.p50),
    baseline: 'limit 1.5 ms',
    ratio: hub.latency.p50 / 1.5,
    goal: '≤ 1.0×',
    met: hub.latency.p50 <= 1.5,
  },
];
if (base)
  rows.push({
    benchmark: 'code → unlock p99 under the fleet',
    measured: ms(hub.latency.p99),
    baseline: `mosquitto+responder ${ms(base.p99)}`,
    ratio: hub.latency.p99 / base.p99,
    goal: '≤ 1.0×',
    met: hub.latency.p99 <= base.p99,
  });
// What durability alone costs: the unlock sent once a sync of a plain log covers the entry.
rows.push({
  benchmark: 'unlock p99 vs a relay that syncs',
  measured: ms(hub.latency.p99),
  baseline: `durable relay ${ms(durable.p99)}`,
  ratio: hub.latency.p99 / durable.p99,
  goal: '',
  met: true,
});
printRows(rows);
console.log(
  `latency (ms): hub p50 ${ms(hub.latency.p50)} p99 ${ms(hub.latency.p99)}${base ? `; mosquitto+responder p50 ${ms(base.p50)} p99 ${ms(base.p99)}` : ''}; durable relay p50 ${ms(durable.p50)} p99 ${ms(durable.p99)}; hub CPU meanwhile ${hub.busyCpu.toFixed(0)} % of a core (${(LOCKERS * READINGS.length).toLocaleString('en')} readings/s); its log syncs meanwhile p50 ≤ ${hub.syncMs.p50 ?? '?'} ms, p99 ≤ ${hub.syncMs.p99 ?? '?'} ms`,
);
console.log(
  `written to ${writeResult('fleet', { quick, lockers: LOCKERS, hub, baseline: base, durable, rows })}`,
);
process.exit(0);
