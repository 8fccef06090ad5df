/**
 * The cold-chain ingest: readings are buffered and written in batches, one transaction per
 * flush, with their 5-minute aggregates; each reading then feeds the rules of the compartments
 * its sensor watches (event time), raising and clearing alarms, accumulating each stored
 * parcel's time out of range, and quarantining parcels on a critical breach. Silence is judged
 * on the hub's clock.
 */
import type { TelemetryMessage, TemperatureClass } from '../../../devices/index.ts';
import type { Ledger } from '../../db/ledger.ts';
import type { Db } from '../../db/open.ts';
import { dueAgain, PERSIST_EVERY_MS, phaseOf } from '../keep-back.ts';
import type { Alarms } from './alarms.ts';
import {
  type ClassRules,
  collectBefore,
  DEFAULT_RULES,
  initialState,
  type SensorRuleState,
  step,
} from './rules.ts';

const FIVE_MIN = 300_000;
/** A reading more than this far in the future (device clock ahead) is not trusted. */
const FUTURE_TOLERANCE_MS = 5 * 60_000;
/** Out-of-range time between two readings counts at most this much (a gap is not an excursion). */
const MAX_STEP_MS = 5 * 60_000;
const MAX_BUFFER = 5000;
/**
 * What one transaction of readings may hold the event loop for, ms: a keypad entry waits at most
 * about this long behind readings. The number of readings that fits is learnt as the hub runs (a
 * reading costs more when each sensor has one per batch, as in a fleet, than when it has many).
 */
const CHUNK_BUDGET_MS = 2;
const CHUNK_MIN = 50;
const CHUNK_MAX = 5000;
/** Clock slack allowed between a boot's announcement and its first readings. */
const BOOT_TOLERANCE_MS = 60_000;
/** What a compartment sensor can plausibly read, °C. */
const PLAUSIBLE = { min: -45, max: 70 };
/** The same value, unchanged, for this long: the sensor is stuck. */
export const STUCK_MS = 2 * 3_600_000;

interface Watch {
  door: number;
  cls: TemperatureClass;
}

/**
 * A sensor's rule state while a flush runs: read once, written once, whatever the number of its
 * readings in the batch. Alarms that a reading can only clear are checked once per flush too.
 */
interface SensorWork {
  lockerId: string;
  sensor: string;
  /** `locker\0sensor`, the key of the committed states. */
  key: string;
  state: SensorRuleState;
  interval: number | null;
  /** What the store holds for it: the state last written and when. */
  saved: Saved | null;
  /** The compartments the sensor watches, their class and its thresholds (none: no rules). */
  watched: Watch[];
  cls: TemperatureClass | undefined;
  rules: ClassRules | null;
  /** Sensor alarms that may be open (SILENT, FAULT_CRITICAL, FAULT_WARNING): a reading ending one clears it. */
  open: number;
  /** The 5-minute aggregate of its latest readings not written yet. */
  bucket: BucketWork | null;
  /** Aggregates of earlier 5-minute buckets not written yet. */
  retired: BucketWork[];
  /** Where in the 10-s period its writes fall (`phaseOf`). */
  phase: number;
  /** The parcels stored behind the watched doors, read when a reading first needs them. */
  parcels: ParcelExposure[] | null;
  /** Its committed entry, updated once the flush commits; null for a sensor new to this hub run. */
  entry: SensorEntry | null;
  /**
   * What a failed flush puts back: the flush adds to the committed bucket and list of earlier
   * buckets in place (copying them for every sensor in every flush made a fleet's garbage live
   * long enough to be copied by each young-generation collection).
   */
  undo: { bucket: BucketWork | null; min: number; max: number; sum: number; n: number; retired: number };
}

interface Saved {
  state: SensorRuleState;
  interval: number | null;
  at: number;
}

/** A sensor between flushes: its committed rule state, and what of it the store has. */
interface SensorEntry {
  state: SensorRuleState;
  interval: number | null;
  saved: Saved | null;
  /** When its latest reading was stored (hub clock). */
  seen: number;
  /** Its 5-minute aggregate not written yet, and those of earlier buckets. */
  bucket: BucketWork | null;
  retired: BucketWork[];
  phase: number;
}

interface ParcelExposure {
  id: string;
  door: number;
  out_of_range_ms: number;
  breached_at: number | null;
}

/** The sensor alarms a reading can end, as bits of SensorWork.open. */
const SILENT = 1;
const FAULT_CRITICAL = 2;
const FAULT_WARNING = 4;
const ALARM_BITS: Record<string, number> = {
  'sensor_silent/critical': SILENT,
  'sensor_fault/critical': FAULT_CRITICAL,
  'sensor_fault/warning': FAULT_WARNING,
};

/** A 5-minute bucket's readings in this flush, added to the stored aggregate once. */
interface BucketWork {
  lockerId: string;
  sensor: string;
  bucket: number;
  min: number;
  max: number;
  sum: number;
  n: number;
  /** When its first reading not yet written came in (hub clock). */
  since: number;
}

interface Pending {
  lockerId: string;
  sensor: string;
  ts: number;
  c: number;
}

/** A telemetry message waiting for the next flush: stored as one row, its readings checked one by one. */
interface PendingMessage {
  lockerId: string;
  ts: number;
  readings: ReadonlyArray<{ sensor: string; c: number }>;
}

export interface ColdChainStats {
  stored: number;
  future: number;
  outOfOrder: number;
  beforeBoot: number;
}

export class ColdChain {
  #buffer: PendingMessage[] = [];
  /** Readings in the buffer. */
  #buffered = 0;
  /** The latest power report per locker since the last flush. */
  readonly #power = new Map<string, { mains: boolean; batteryV?: number; ts: number }>();
  readonly #watch = new Map<string, Map<string, Watch[]>>();
  readonly stats: ColdChainStats = { stored: 0, future: 0, outOfOrder: 0, beforeBoot: 0 };
  readonly #insert;
  /** Each sensor's rule state as last committed (the store holds the same; only this class writes it). */
  readonly #states = new Map<string, SensorEntry>();
  /** Open sensor alarms per `locker\0sensor` (bits of SensorWork.open), read at each flush. */
  #openSensorAlarms = new Map<string, number>();
  readonly #openSensorAlarmRows;
  readonly #aggregate;
  readonly #state;
  readonly #saveState;
  readonly #parcelsIn;
  readonly #exposed;
  readonly #recent;
  readonly #boot;
  /** Each locker's boot as last read; forgotten when the locker announces a new one. */
  readonly #boots = new Map<string, { boot_id: string | null; boot_at: number | null }>();

  /** The locker came online or rebooted: its boot is read again with its next readings. */
  forgetBoot(lockerId: string): void {
    this.#boots.delete(lockerId);
  }

  constructor(
    private readonly db: Db,
    private readonly ledger: Ledger,
    private readonly alarms: Alarms,
    private readonly now: () => number,
    /** The thresholds for a locker's compartments of a class (per site, SPEC defaults otherwise). */
    private readonly rulesFor: (lockerId: string, cls: TemperatureClass) => ClassRules = (_l, cls) =>
      DEFAULT_RULES[cls],
    /** Readings are a heartbeat too: told which cabinets were heard (`Fleet.seen`). */
    private readonly onHeard: (lockerId: string, now: number) => void = () => {},
  ) {
    this.#insert = db.prepare('INSERT INTO telemetry (locker_id, ts, readings) VALUES (?, ?, ?)');
    this.#openSensorAlarmRows = db.prepare(
      `SELECT locker_id, sensor, kind, level FROM alarms WHERE state <> 'cleared' AND kind IN ('sensor_silent', 'sensor_fault')`,
    );
    this.#boot = db.prepare<[string], { boot_id: string | null; boot_at: number | null }>(
      'SELECT boot_id, boot_at FROM lockers WHERE id = ?',
    );
    this.#recent = db.prepare<[string, string, number, number], { ts: number; c: number }>(
      'SELECT ts, c FROM readings WHERE locker_id = ? AND sensor = ? AND ts >= ? AND ts <= ? ORDER BY ts',
    );
    this.#aggregate = db.prepare(
      `INSERT INTO readings_5m (locker_id, sensor, bucket, min, max, sum, n) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (locker_id, sensor, bucket) DO UPDATE SET
         min = min(min, excluded.min), max = max(max, excluded.max), sum = sum + excluded.sum, n = n + excluded.n`,
    );
    this.#state = db.prepare<
      [string, string],
      { rules: string; last_seen: number; interval_ms: number | null }
    >('SELECT rules, last_seen, interval_ms FROM sensor_state WHERE locker_id = ? AND sensor = ?');
    this.#saveState = db.prepare(
      `INSERT INTO sensor_state (locker_id, sensor, rules, last_seen, interval_ms) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (locker_id, sensor) DO UPDATE SET rules = excluded.rules, last_seen = excluded.last_seen, interval_ms = excluded.interval_ms`,
    );
    this.#exposed = db.prepare('UPDATE parcels SET out_of_range_ms = ? WHERE id = ?');
    this.#parcelsIn = db.prepare<
      [string, number],
      { id: string; out_of_range_ms: number; breached_at: number | null }
    >(
      `SELECT p.id, p.out_of_range_ms, p.breached_at FROM compartments c JOIN parcels p ON p.id = c.parcel_id
       WHERE c.locker_id = ? AND c.door = ? AND p.state IN ('stored', 'quarantined')`,
    );
  }

  /** Buffers a telemetry message; the next flush stores and evaluates it. */
  add(lockerId: string, msg: TelemetryMessage): void {
    let boot = this.#boots.get(lockerId);
    if (!boot) {
      boot = this.#boot.get(lockerId);
      if (boot) this.#boots.set(lockerId, boot);
    }
    if (
      boot &&
      boot.boot_id === msg.bootId &&
      boot.boot_at !== null &&
      msg.ts < boot.boot_at - BOOT_TOLERANCE_MS
    ) {
      // Taken before the boot that sent it: the cabinet's clock is wrong, its readings untrustworthy.
      this.stats.beforeBoot++;
      return;
    }
    if (msg.readings.length) {
      this.#buffer.push({ lockerId, ts: msg.ts, readings: msg.readings });
      this.#buffered += msg.readings.length;
    }
    if (msg.power) this.#power.set(lockerId, { ...msg.power, ts: msg.ts });
    this.#heard.add(lockerId);
    if (this.#buffered >= MAX_BUFFER) this.flushChunk();
  }

  readonly #heard = new Set<string>();

  /** Where the sweep of kept-back values stopped: it goes through a tenth of the sensors a call. */
  #sweep: Iterator<[string, SensorEntry]> | null = null;

  /**
   * Writes what was kept back (PERSIST_EVERY_MS) for sensors that went quiet: a
   * reading writes what is due for its own sensor, so only those no reading brings back (silent,
   * or gone) are left to this. The hub calls it every second; each call looks at a tenth of the
   * sensors, so a fleet's 30,000 cost a few hundred checks a second, not a burst.
   */
  sweepKeptBack(): void {
    const now = this.now();
    const quiet = (seen: number, interval: number | null) =>
      now - seen >= Math.max(PERSIST_EVERY_MS, 2 * (interval ?? 0));
    let budget = Math.ceil(this.#states.size / 10);
    this.db.transaction(() => {
      while (budget-- > 0) {
        this.#sweep ??= this.#states.entries();
        const next = this.#sweep.next();
        if (next.done) {
          this.#sweep = null;
          break;
        }
        const [key, e] = next.value;
        if (quiet(e.seen, e.interval)) this.#writeKeptBack(key, e);
      }
    })();
  }

  /** Writes everything kept back: all of it before the hub stops, or one cabinet's before its aggregates are read. */
  persist(lockerId?: string): void {
    const prefix = lockerId === undefined ? '' : `${lockerId}\u0000`;
    this.db.transaction(() => {
      for (const [key, e] of this.#states) if (key.startsWith(prefix)) this.#writeKeptBack(key, e);
    })();
  }

  #writeKeptBack(key: string, e: SensorEntry): void {
    for (const b of e.retired) this.#writeBucket(b);
    e.retired = [];
    if (e.bucket) {
      this.#writeBucket(e.bucket);
      e.bucket = null;
    }
    const s = e.saved;
    if (s && s.state === e.state && s.interval === e.interval && s.at >= e.seen) return;
    const [lockerId, sensor] = key.split('\u0000') as [string, string];
    this.#saveState.run(lockerId, sensor, JSON.stringify(e.state), e.seen, e.interval);
    e.saved = { state: e.state, interval: e.interval, at: e.seen };
  }

  /** Readings per transaction, sized to take about CHUNK_BUDGET_MS. */
  #chunk = 500;

  /** Flushes one transaction's worth of readings; returns how many still wait. */
  flushChunk(): number {
    const before = this.#buffered;
    const t0 = performance.now();
    const left = this.flush(this.#chunk);
    const done = before - left;
    if (done >= CHUNK_MIN) {
      const fits = CHUNK_BUDGET_MS / ((performance.now() - t0) / done);
      this.#chunk = Math.round(Math.min(CHUNK_MAX, Math.max(CHUNK_MIN, 0.7 * this.#chunk + 0.3 * fits)));
    }
    return left;
  }

  /**
   * Stores and evaluates buffered readings, oldest first, at most `limit` in one transaction;
   * returns how many are still waiting. The hub's timer passes a limit and comes back at once
   * for the rest, so a keypad entry never waits behind a whole fleet's readings.
   */
  flush(limit = Number.POSITIVE_INFINITY): number {
    if (this.#buffer.length === 0 && this.#heard.size === 0) return 0;
    this.#buffer.sort((a, b) => a.ts - b.ts);
    let take = 0;
    let taken = 0;
    while (take < this.#buffer.length && taken < limit)
      taken += (this.#buffer[take++] as PendingMessage).readings.length;
    const batch = take < this.#buffer.length ? this.#buffer.splice(0, take) : this.#buffer;
    if (batch === this.#buffer) this.#buffer = [];
    this.#buffered -= taken;
    const now = this.now();
    const current: Pending[] = [];
    const sensors = new Map<string, Map<string, SensorWork>>();
    try {
      this.#flushBatch(batch, now, sensors, current);
    } catch (err) {
      for (const mine of sensors.values()) for (const w of mine.values()) undo(w);
      throw err;
    }
    // Committed: the next flush starts from these states without reading them back.
    for (const mine of sensors.values())
      for (const w of mine.values()) {
        const e = w.entry;
        if (!e) {
          this.#states.set(w.key, {
            state: w.state,
            interval: w.interval,
            saved: w.saved,
            seen: now,
            bucket: w.bucket,
            retired: w.retired,
            phase: w.phase,
          });
          continue;
        }
        e.state = w.state;
        e.interval = w.interval;
        e.saved = w.saved;
        e.seen = now;
        e.bucket = w.bucket;
        e.retired = w.retired;
      }
    this.#heard.clear();
    this.#power.clear();
    if (current.length) this.onStored?.(current);
    return this.#buffered;
  }

  /** One flush's transaction: stores and evaluates `batch`, writes what came due. */
  #flushBatch(
    batch: PendingMessage[],
    now: number,
    sensors: Map<string, Map<string, SensorWork>>,
    current: Pending[],
  ): void {
    this.db.transaction(() => {
      // The few sensor alarms open now: a reading need not look each one up to clear it.
      this.#openSensorAlarms = new Map();
      for (const a of this.#openSensorAlarmRows.all() as Array<{
        locker_id: string;
        sensor: string;
        kind: string;
        level: string;
      }>) {
        const key = `${a.locker_id}\u0000${a.sensor}`;
        const bit = ALARM_BITS[`${a.kind}/${a.level}`] ?? 0;
        this.#openSensorAlarms.set(key, (this.#openSensorAlarms.get(key) ?? 0) | bit);
      }
      for (const m of batch) {
        let mine = sensors.get(m.lockerId);
        if (!mine) {
          mine = new Map();
          sensors.set(m.lockerId, mine);
        }
        this.#message(m, now, mine, current);
      }
      for (const mine of sensors.values())
        for (const w of mine.values()) {
          // A bucket that just ended waits for the sensor's turn too: at a 5-minute boundary a
          // whole fleet retires its buckets at once.
          const since = w.retired[0]?.since ?? w.bucket?.since;
          if (since !== undefined && dueAgain(w.phase, since, now)) {
            for (const b of w.retired) this.#writeBucket(b);
            // A new list: a failed flush puts the committed one back as it was.
            if (w.retired.length) w.retired = [];
            if (w.bucket) this.#writeBucket(w.bucket);
            w.bucket = null;
          }
          if (!this.#due(w, now)) continue;
          this.#saveState.run(w.lockerId, w.sensor, JSON.stringify(w.state), now, w.interval);
          w.saved = { state: w.state, interval: w.interval, at: now };
        }
      for (const lockerId of this.#heard) this.onHeard(lockerId, now);
      for (const [lockerId, p] of this.#power) {
        if (p.mains) this.alarms.clear(lockerId, null, 'on_battery', 'warning', now);
        else
          this.alarms.raise({
            lockerId,
            sensor: null,
            kind: 'on_battery',
            level: 'warning',
            at: p.ts,
            details: { batteryV: p.batteryV ?? null },
          });
      }
    })();
  }

  /**
   * Told, after each flush has committed, the readings that became their sensor's current value
   * (stored, in order, plausible): the live feed passes them on.
   */
  onStored?: (readings: ReadonlyArray<Pending>) => void;

  /**
   * Stores a message as one row, then evaluates its readings; the current ones go to `current`.
   * `sensors`: the work on this locker's sensors in this flush.
   */
  #message(m: PendingMessage, now: number, sensors: Map<string, SensorWork>, current: Pending[]): void {
    if (m.ts > now + FUTURE_TOLERANCE_MS) {
      this.stats.future += m.readings.length; // a clock far ahead would open and close alarms at the wrong times
      return;
    }
    const values: Record<string, number> = Object.create(null);
    const readings: Pending[] = [];
    for (const { sensor, c } of m.readings) {
      // The same sensor twice at one instant: the first value counts, the second is out of order.
      if (sensor in values) this.stats.outOfOrder++;
      else {
        values[sensor] = c;
        readings.push({ lockerId: m.lockerId, sensor, ts: m.ts, c });
      }
    }
    this.#insert.run(m.lockerId, m.ts, JSON.stringify(values));
    for (const r of readings) if (this.#reading(r, now, sensors)) current.push(r);
  }

  /** Evaluates one stored reading; true when it is now its sensor's current value. */
  #reading(r: Pending, now: number, sensors: Map<string, SensorWork>): boolean {
    let work = sensors.get(r.sensor);
    if (!work) {
      work = this.#work(r.lockerId, r.sensor);
      sensors.set(r.sensor, work);
    }
    this.#aggregate5m(work, r, now);
    this.stats.stored++;
    const prev = work.state;
    // The hub's own clock measures silence; the readings' rhythm sets what silence is.
    if (prev.lastTs !== null && r.ts > prev.lastTs) work.interval = r.ts - prev.lastTs;
    this.#clearOnce(work, SILENT, 'sensor_silent', 'critical', now);
    if (prev.lastTs !== null && r.ts <= prev.lastTs) {
      this.stats.outOfOrder++;
      return false;
    }
    const { watched, cls, rules } = work;
    if (this.#implausible(r, now, work)) {
      // Stored for the record, never fed to the rules: a broken probe must not clear or raise anything.
      return false;
    }
    // Only where a compressor cycles: an ambient probe in a quiet room may well read the same for hours.
    if (cls === 'chilled' || cls === 'frozen') this.#stuck(r, prev, now, work);
    const valueSince = prev.lastC === r.c ? (prev.valueSince ?? prev.lastTs ?? r.ts) : r.ts;
    let next: SensorRuleState;
    if (cls && rules) {
      const result = step(prev, r.ts, r.c, rules);
      next = result.state;
      for (const ch of result.changes) {
        if (ch.change === 'raise') {
          // How long the goods have: from the recent rise, when the critical limit will be breached.
          const by =
            ch.level === 'warning'
              ? collectBefore(this.#recent.all(r.lockerId, r.sensor, r.ts - 15 * 60_000, r.ts), rules)
              : null;
          const advice = by
            ? { collectBefore: by, advice: `collect before ${new Date(by).toISOString().slice(11, 16)} UTC` }
            : {};
          this.alarms.raise({
            lockerId: r.lockerId,
            sensor: r.sensor,
            kind: 'temperature_high',
            level: ch.level,
            at: ch.at,
            since: ch.since,
            details: { c: r.c, doors: watched.map((w) => w.door), class: cls, ...advice },
          });
          if (ch.level === 'critical') {
            for (const w of watched) this.#quarantine(r.lockerId, w.door, ch.at, 'critical');
            work.parcels = null;
          }
        } else {
          this.alarms.clear(r.lockerId, r.sensor, 'temperature_high', ch.level, ch.at);
        }
      }
      this.#exposure(r, prev, rules, work);
    } else next = { ...prev, lastTs: r.ts, lastC: r.c };
    next.valueSince = valueSince;
    work.state = next;
    return true;
  }

  /**
   * Whether a sensor's state must be written now: never written, an alarm level moved (levels are
   * replaced, never changed, so identity says it), its rhythm first known, or written too long ago.
   */
  #due(w: SensorWork, now: number): boolean {
    const s = w.saved;
    return (
      !s ||
      s.state.warning !== w.state.warning ||
      s.state.critical !== w.state.critical ||
      (s.interval === null && w.interval !== null) ||
      dueAgain(w.phase, s.at, now)
    );
  }

  /** A sensor's work for this flush: its committed state, what it watches, its open alarms. */
  #work(lockerId: string, sensor: string): SensorWork {
    const key = `${lockerId}\u0000${sensor}`;
    const entry = this.#states.get(key) ?? null;
    let known = entry;
    if (!known) {
      const row = this.#state.get(lockerId, sensor);
      const state: SensorRuleState = row ? JSON.parse(row.rules) : initialState();
      const interval = row?.interval_ms ?? null;
      known = {
        state,
        interval,
        saved: row ? { state, interval, at: row.last_seen } : null,
        seen: row?.last_seen ?? 0,
        bucket: null,
        retired: [],
        phase: phaseOf(key),
      };
    }
    const watched = this.#watched(lockerId, sensor);
    const cls = watched[0]?.cls;
    const b = known.bucket;
    return {
      lockerId,
      sensor,
      key,
      state: known.state,
      interval: known.interval,
      saved: known.saved,
      bucket: known.bucket,
      retired: known.retired,
      phase: known.phase,
      watched,
      cls,
      rules: cls ? this.rulesFor(lockerId, cls) : null,
      open: this.#openSensorAlarms.get(key) ?? 0,
      parcels: null,
      entry,
      undo: b
        ? { bucket: b, min: b.min, max: b.max, sum: b.sum, n: b.n, retired: known.retired.length }
        : { bucket: null, min: 0, max: 0, sum: 0, n: 0, retired: known.retired.length },
    };
  }

  #writeBucket(b: BucketWork): void {
    this.#aggregate.run(b.lockerId, b.sensor, b.bucket, b.min, b.max, b.sum, b.n);
  }

  /** Adds a reading to its 5-minute aggregate, written about every PERSIST_EVERY_MS (`dueAgain`). */
  #aggregate5m(work: SensorWork, r: Pending, now: number): void {
    const bucket = Math.floor(r.ts / FIVE_MIN) * FIVE_MIN;
    let b = work.bucket;
    if (b?.bucket !== bucket) {
      // The next bucket (or, out of order, an earlier one): what the last one holds is written at
      // the sensor's next turn; the store merges aggregates of the same bucket.
      if (b) work.retired.push(b);
      b = { lockerId: r.lockerId, sensor: r.sensor, bucket, min: r.c, max: r.c, sum: 0, n: 0, since: now };
      work.bucket = b;
    }
    if (r.c < b.min) b.min = r.c;
    if (r.c > b.max) b.max = r.c;
    b.sum += r.c;
    b.n++;
  }

  /** Clears an alarm a reading ends, looking it up once per sensor and flush. */
  #clearOnce(
    work: SensorWork,
    bit: number,
    kind: 'sensor_silent' | 'sensor_fault',
    level: 'warning' | 'critical',
    now: number,
  ): void {
    if ((work.open & bit) === 0) return;
    work.open &= ~bit;
    this.alarms.clear(work.lockerId, work.sensor, kind, level, now);
  }

  /** Adds the time since the previous reading to each stored parcel if that reading was out of range. */
  #exposure(r: Pending, prev: SensorRuleState, rules: ClassRules, work: SensorWork): void {
    if (prev.lastTs === null || prev.lastC === null) return;
    const out = prev.lastC > rules.keepMax || (rules.keepMin !== null && prev.lastC < rules.keepMin);
    if (!out) return;
    const dt = Math.min(MAX_STEP_MS, r.ts - prev.lastTs);
    // Deposits and pickups commit outside a flush: the parcels behind a door hold still during one.
    work.parcels ??= work.watched.flatMap((w) =>
      this.#parcelsIn.all(r.lockerId, w.door).map((p) => ({ ...p, door: w.door })),
    );
    for (const p of work.parcels) {
      p.out_of_range_ms += dt;
      this.#exposed.run(p.out_of_range_ms, p.id);
      if (rules.cumulativeMs !== null && p.out_of_range_ms >= rules.cumulativeMs && p.breached_at === null) {
        this.#quarantine(r.lockerId, p.door, r.ts, 'cumulative');
        for (const q of work.parcels) if (q.door === p.door) q.breached_at ??= r.ts;
      }
    }
  }

  /**
   * Values no compartment can reach are a sensor fault (a disconnected DS18B20 reads −127 °C, a
   * probe in short circuit the top of its scale), not a temperature.
   */
  #implausible(r: Pending, now: number, work: SensorWork): boolean {
    if (r.c >= PLAUSIBLE.min && r.c <= PLAUSIBLE.max) {
      this.#clearOnce(work, FAULT_CRITICAL, 'sensor_fault', 'critical', now);
      return false;
    }
    // A fault after a good value in the same batch: a later good one must clear it again.
    work.open |= FAULT_CRITICAL;
    this.alarms.raise({
      lockerId: r.lockerId,
      sensor: r.sensor,
      kind: 'sensor_fault',
      level: 'critical',
      at: r.ts,
      details: { reason: 'out_of_range', c: r.c },
    });
    return true;
  }

  /** The exact same value for hours, while compressors cycle and doors open, is a stuck sensor. */
  #stuck(r: Pending, prev: SensorRuleState, now: number, work: SensorWork): void {
    if (prev.lastC !== r.c) {
      this.#clearOnce(work, FAULT_WARNING, 'sensor_fault', 'warning', now);
      return;
    }
    work.open |= FAULT_WARNING;
    const since = prev.valueSince ?? prev.lastTs ?? r.ts;
    if (r.ts - since >= STUCK_MS) {
      this.alarms.raise({
        lockerId: r.lockerId,
        sensor: r.sensor,
        kind: 'sensor_fault',
        level: 'warning',
        at: r.ts,
        since,
        details: { reason: 'stuck', c: r.c },
      });
    }
  }

  /** A breach: the parcels inside are held; their pickup codes no longer open the door. */
  #quarantine(lockerId: string, door: number, at: number, reason: 'critical' | 'cumulative'): void {
    for (const p of this.#parcelsIn.all(lockerId, door)) {
      if (p.breached_at !== null) continue;
      this.db
        .prepare(
          `UPDATE parcels SET state = 'quarantined', breached_at = ?, breach_reason = ?, updated_at = ? WHERE id = ?`,
        )
        .run(at, reason, this.now(), p.id);
      this.ledger.append({
        ts: this.now(),
        type: 'parcel.quarantined',
        actor: 'hub',
        lockerId,
        door,
        parcelId: p.id,
        data: { reason, at },
      });
    }
  }

  /** Sensors silent for more than two of their reading intervals (hub clock) get an alarm. */
  sweepSilent(): void {
    const now = this.now();
    // Through the index on silent_at (last_seen + 2 intervals, 30 s at least): a fleet has tens of thousands of
    // sensors, their rows are wide (rule state), and this runs every second.
    const rows = this.db
      .prepare(
        'SELECT locker_id, sensor, last_seen, interval_ms FROM sensor_state WHERE interval_ms IS NOT NULL AND silent_at < ?',
      )
      .all(now) as Array<{ locker_id: string; sensor: string; last_seen: number; interval_ms: number }>;
    this.db.transaction(() => {
      for (const s of rows) {
        this.alarms.raise({
          lockerId: s.locker_id,
          sensor: s.sensor,
          kind: 'sensor_silent',
          level: 'critical',
          at: now,
          since: s.last_seen,
          details: { lastSeen: s.last_seen, intervalMs: s.interval_ms },
        });
      }
    })();
  }

  #watched(lockerId: string, sensor: string): Watch[] {
    let bySensor = this.#watch.get(lockerId);
    if (!bySensor) {
      bySensor = new Map();
      const rows = this.db
        .prepare(
          'SELECT door, temperature_class, sensor FROM compartments WHERE locker_id = ? AND sensor IS NOT NULL',
        )
        .all(lockerId) as Array<{ door: number; temperature_class: TemperatureClass; sensor: string }>;
      for (const row of rows)
        bySensor.set(row.sensor, [
          ...(bySensor.get(row.sensor) ?? []),
          { door: row.door, cls: row.temperature_class },
        ]);
      this.#watch.set(lockerId, bySensor);
    }
    return bySensor.get(sensor) ?? [];
  }
}

/** Puts back what a failed flush added to a sensor's committed aggregates. */
function undo(w: SensorWork): void {
  const e = w.entry;
  if (!e) return;
  const u = w.undo;
  if (u.bucket) {
    u.bucket.min = u.min;
    u.bucket.max = u.max;
    u.bucket.sum = u.sum;
    u.bucket.n = u.n;
  }
  e.retired.length = u.retired;
}
