/**
 * A property of the cold chain: the same facts reaching the hub in any order and any batching
 * give the same parcels at the end: state, breach, time out of range, temperature record (stays,
 * readings, alarms) and verdict. On time, each message comes a second after it happened; late,
 * all of it comes at once hours later: an outage's events replayed before its readings, or after
 * them, the two streams shuffled together, or everything in any order at all (readings of a
 * sensor out of their order, events before the ones before them).
 *
 * A real MQTT client speaks for the cabinet on the hub's embedded broker, the hub on a clock the
 * test moves. The doors are opened by the cabinet itself (its offline code table, `offline.unlock`):
 * a fact whatever the hub knew then, as a code typed at a keypad decided by a hub that has not
 * heard of a breach yet would not be. Doors open and close between two readings (at 20 and 40 s
 * past the minute), so no reading falls while a door is open.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { type LockerRef, offlineHash, offlineKey, topic } from '../../devices/index.ts';
import { LIGHT_OFFLINE_COST, startTestHub, type TestHub } from '../helpers/hub.ts';
import { Rng } from '../soak/rng.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 11, 7, 6, 0);
const MINUTES = 180;
const END = T0 + MINUTES * MIN + 30_000;
const REF: LockerRef = { site: 'ferme', locker: 'box-1' };
const BOOT = 'boot-1';

type Fact =
  | { stream: 'events'; ts: number; ev: Record<string, unknown> }
  | { stream: 'telemetry'; ts: number; readings: Array<{ sensor: string; c: number }> };

interface Plan {
  /** The chilled and frozen doors each get a parcel: deposited at minute `in`, picked up at `out`. */
  parcels: Array<{ door: number; in: number; out: number | null }>;
  /** Per sensor, a reading a minute. */
  series: Record<string, number[]>;
}

/** Three hours at a box: compressors failing, doors opened, a freezer cycling. */
function plan(seed: number): Plan {
  const rng = new Rng(seed);
  const series: Record<string, number[]> = {};
  for (const [sensor, cls] of [
    ['t1', 'chilled'],
    ['t2', 'chilled'],
    ['t3', 'chilled'],
    ['t4', 'chilled'],
    ['t5', 'frozen'],
    ['t6', 'frozen'],
  ] as const) {
    const base = cls === 'chilled' ? 3 : -20;
    let c = base;
    let failing = 0;
    const cycling = cls === 'frozen' && rng.next() < 0.5;
    const out: number[] = [];
    for (let m = 0; m < MINUTES; m++) {
      if (failing === 0 && rng.next() < 0.006) failing = rng.int(10, 45);
      if (failing > 0) {
        c += cls === 'chilled' ? 0.45 : 0.6;
        failing--;
      } else c += (base - c) * 0.15 + rng.between(-0.2, 0.2);
      if (rng.next() < 0.015) c += rng.between(1, 4); // a door opened for a while
      const v = cycling ? -15 + 4 * Math.sin((m / 20) * 2 * Math.PI) + rng.between(-0.4, 0.4) : c;
      out.push(Math.round(v * 10) / 10);
    }
    series[sensor] = out;
  }
  const parcels = [1, 2, 3, 4, 5, 6].map((door) => {
    const inAt = rng.int(2, 120);
    const out = rng.next() < 0.75 ? Math.min(MINUTES - 2, inAt + rng.int(10, 90)) : null;
    return { door, in: inAt, out };
  });
  return { parcels, series };
}

/** The cabinet's two streams, each in its own order. */
function facts(p: Plan, hashes: Map<number, { deposit: string; pickup: string }>): Fact[][] {
  const events: Fact[] = [];
  const ops: Array<{ door: number; at: number; kind: 'deposit' | 'pickup' }> = [];
  for (const parcel of p.parcels) {
    ops.push({ door: parcel.door, at: parcel.in, kind: 'deposit' });
    if (parcel.out !== null) ops.push({ door: parcel.door, at: parcel.out, kind: 'pickup' });
  }
  ops.sort((a, b) => a.at - b.at || a.door - b.door);
  let seq = 0;
  for (const op of ops) {
    const at = T0 + op.at * MIN + 20_000;
    const h = hashes.get(op.door)?.[op.kind] as string;
    for (const [dt, ev] of [
      [0, { type: 'offline.unlock', door: op.door, h, kind: op.kind }],
      [1000, { type: 'door.opened', door: op.door }],
      [20_000, { type: 'door.closed', door: op.door }],
    ] as const) {
      seq++;
      events.push({ stream: 'events', ts: at + dt, ev: { ...ev, id: `${BOOT}-${seq}`, seq, ts: at + dt } });
    }
  }
  const telemetry: Fact[] = [];
  for (let m = 0; m < MINUTES; m++)
    telemetry.push({
      stream: 'telemetry',
      ts: T0 + m * MIN,
      readings: Object.entries(p.series).map(([sensor, cs]) => ({ sensor, c: cs[m] as number })),
    });
  return [events, telemetry];
}

let t: TestHub | undefined;
let cabinet: MqttClient | undefined;
afterEach(async () => {
  await cabinet?.endAsync(true);
  await t?.close();
  t = undefined;
  cabinet = undefined;
});

/**
 * Runs one delivery: `order` merges the two streams (keeping each one's order), `batch` says how
 * many messages go before the hub's next tick. Returns the parcels as the hub ends with them.
 */
async function run(
  p: Plan,
  order: (streams: Fact[][], rng: Rng) => Fact[],
  batch: (rng: Rng, rest: Fact[]) => number,
  seed: number,
  late: boolean,
) {
  let hubTime = T0 - 10 * MIN;
  t = await startTestHub({ now: () => hubTime, manualTicks: true });
  const hub = t;
  const { password } = hub.hub.provisioning.addDevice(REF, 'rural-box-8', 'test');
  const key = offlineKey(password);
  const client = await mqtt.connectAsync(hub.hub.mqttUrl, {
    username: `${REF.site}/${REF.locker}`,
    password,
    clientId: `${REF.site}/${REF.locker}`,
    reconnectPeriod: 0,
  });
  cabinet = client;
  const acked = new Set<string>();
  client.on('message', (_topic, payload) => {
    for (const id of JSON.parse(payload.toString()).ids as string[]) acked.add(id);
  });
  await client.subscribeAsync(topic(REF, 'events/ack'), { qos: 1 });
  await client.publishAsync(
    topic(REF, 'state'),
    JSON.stringify({ online: true, bootId: BOOT, fw: 'test', profile: 'rural-box-8', ts: hubTime }),
    { qos: 1, retain: true },
  );
  await hub.ticked(async () => (await hub.api('GET', '/api/v1/lockers/box-1')).body.online, 5000, 'online');
  const hashes = new Map<number, { deposit: string; pickup: string }>();
  const ids: string[] = [];
  for (const parcel of p.parcels) {
    const cls = parcel.door <= 4 ? 'chilled' : 'frozen';
    const res = await hub.api(
      'POST',
      '/api/v1/parcels',
      { lockerId: 'box-1', size: 'M', temperatureClass: cls, recipient: { name: 'Ada' } },
      hub.integration,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.parcel.door).toBe(parcel.door);
    ids.push(res.body.parcel.id);
    const h = (code: string) => offlineHash(key, REF.locker, code, LIGHT_OFFLINE_COST);
    hashes.set(parcel.door, { deposit: await h(res.body.depositCode), pickup: await h(res.body.pickupCode) });
  }
  // The hub learns the hashes the cabinet will journal as it computes them for the table.
  await hub.hub.tick();
  const rng = new Rng(seed);
  const all = order(facts(p, hashes), rng);
  const last = Math.max(...all.map((f) => f.ts));
  let readings = 0;
  const stored = () => hub.hub.db.prepare('SELECT count(*) FROM readings').pluck().get() as number;
  for (let i = 0; i < all.length; ) {
    const n = batch(rng, all.slice(i));
    const sent: string[] = [];
    const publishing: Array<Promise<unknown>> = [];
    for (const f of all.slice(i, i + n)) {
      // On time, each a second after it happened; late, all of it at the end (a backlog comes fast).
      hubTime = Math.max(hubTime, (late ? last : f.ts) + 1000);
      if (f.stream === 'events') {
        sent.push(f.ev.id as string);
        publishing.push(
          client.publishAsync(topic(REF, 'events'), JSON.stringify({ bootId: BOOT, events: [f.ev] }), {
            qos: 1,
          }),
        );
      } else {
        readings += f.readings.length;
        publishing.push(
          client.publishAsync(
            topic(REF, 'telemetry'),
            JSON.stringify({ bootId: BOOT, seq: readings, ts: f.ts, readings: f.readings }),
            { qos: 1 },
          ),
        );
      }
    }
    await Promise.all(publishing);
    i += n;
    const want = readings;
    // The hub ticks until it has applied them: their events acknowledged, their readings stored.
    const deadline = Date.now() + 10_000;
    for (;;) {
      await hub.hub.tick();
      if (sent.every((id) => acked.has(id)) && stored() === want) break;
      if (Date.now() > deadline) throw new Error(`facts ${i}-${i + n} never applied`);
      await new Promise((r) => setImmediate(r));
    }
  }
  hubTime = END;
  await hub.hub.tick(END);
  const out = [];
  for (const id of ids) {
    const parcel = (await hub.api('GET', `/api/v1/parcels/${id}`)).body;
    const record = (await hub.api('GET', `/api/v1/parcels/${id}/temperature`)).body;
    out.push({
      door: parcel.door,
      state: parcel.state,
      storedAt: parcel.storedAt,
      pickedUpAt: parcel.pickedUpAt,
      breach: record.breach,
      minutesOutOfRange: record.minutesOutOfRange,
      verdict: record.verdict,
      stays: record.stays,
      readings: record.readings,
      alarms: record.alarms.map((a: { kind: string; level: string; raisedAt: number }) => [
        a.kind,
        a.level,
        a.raisedAt,
      ]),
    });
  }
  await client.endAsync(true);
  cabinet = undefined;
  await hub.close();
  t = undefined;
  return out;
}

/** On time: both streams merged by time. */
const onTime = ([events, telemetry]: Fact[][]) =>
  [...(events as Fact[]), ...(telemetry as Fact[])].sort((a, b) => a.ts - b.ts);
/** What happened in the minute of the first: the hub ticks once a minute. */
const aMinute = (_rng: Rng, rest: Fact[]) => {
  const n = rest.findIndex((f, i) => i > 0 && f.stream === 'telemetry');
  return n === -1 ? rest.length : n;
};
/** Each stream's own order kept, the two shuffled together at random. */
function shuffled([events, telemetry]: Fact[][], rng: Rng): Fact[] {
  const a = [...(events as Fact[])];
  const b = [...(telemetry as Fact[])];
  const out: Fact[] = [];
  while (a.length || b.length)
    out.push((rng.next() < a.length / (a.length + b.length) ? a.shift() : b.shift()) as Fact);
  return out;
}

/** Any order at all: readings of a sensor out of their order too, events before the ones before them. */
function anyOrder([events, telemetry]: Fact[][], rng: Rng): Fact[] {
  const out = [...(events as Fact[]), ...(telemetry as Fact[])];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [out[i], out[j]] = [out[j] as Fact, out[i] as Fact];
  }
  return out;
}

describe('the cold chain, whatever the order of events and readings', () => {
  it('ends with the same parcels, records and verdicts for every seed', async () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 3; seed++) {
      const p = plan(seed);
      const reference = await run(p, onTime, aMinute, seed, false);
      for (const r of reference) seen.add(r.verdict).add(r.state);
      const late = [
        ['events first', ([e, r]: Fact[][]) => [...(e as Fact[]), ...(r as Fact[])]],
        ['readings first', ([e, r]: Fact[][]) => [...(r as Fact[]), ...(e as Fact[])]],
        ['shuffled', shuffled],
        ['in any order', anyOrder],
      ] as const;
      for (const [name, order] of late) {
        const got = await run(p, order, (rng) => rng.int(1, 30), seed, true);
        expect(got, `seed ${seed}, ${name}`).toEqual(reference);
      }
    }
    // The scenarios do what they are for: goods kept, out of range for a while, breached (held
    // where they still were, told breached where they had gone).
    for (const what of ['ok', 'excursion', 'breached', 'quarantined', 'picked_up'])
      expect(seen).toContain(what);
  }, 120_000);
});
