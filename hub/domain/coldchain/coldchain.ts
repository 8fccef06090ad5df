/**
 * The cold-chain ingest: readings are buffered and written in batches, one transaction per
 * flush, with their 5-minute aggregates; each reading then feeds the rules of the compartments
 * its sensor watches (event time), raising and clearing alarms, accumulating each stored
 * parcel's time out of range, and quarantining parcels on a critical breach. Silence is judged
 * on the hub's clock.
 */
import {
  PRODUCT_CATEGORIES,
  type ProductCategory,
  type TelemetryMessage,
  type TemperatureClass,
} from '../../../devices/index.ts';
import { cursor, ledgerEnd, saveCursor } from '../../db/cursors.ts';
import type { Ledger } from '../../db/ledger.ts';
import { cached, type Db } from '../../db/open.ts';
import { HubError } from '../../errors.ts';
import { dueAgain, PERSIST_EVERY_MS, phaseOf } from '../keep-back.ts';
import { GOODS_MOVES_SQL, goodsInside, type ParcelState, ParcelStates } from '../parcel-states.ts';
import { lookupProfile } from '../profiles.ts';
import type { Alarms } from './alarms.ts';
import { custodyOf, exposureOf, firstBreach } from './exposure.ts';
import { amendSealedBreach, resealRecord } from './record.ts';
import {
  type Change,
  type ClassRules,
  collectBefore,
  DEFAULT_RULES,
  initialState,
  type Level,
  type LevelState,
  LOW_NORMAL,
  type LowLevels,
  MAX_STEP_MS,
  type SensorRuleState,
  step,
} from './rules.ts';

const FIVE_MIN = 300_000;
/** A reading more than this far in the future (device clock ahead) is not trusted. */
const FUTURE_TOLERANCE_MS = 5 * 60_000;
/** Out-of-range time between two readings counts at most this much (a gap is not an excursion). */
const MAX_BUFFER = 5000;
/**
 * What one transaction of readings may hold the event loop for, ms: a keypad entry waits at most
 * about this long behind readings. The number of readings that fits is learnt as the hub runs (a
 * reading costs more when each sensor has one per batch, as in a fleet, than when it has many).
 * With 2,000 cabinets, 1 ms instead of 2 brought the code → unlock p99 from 9.6-11.7 ms to
 * 8.3-8.6 at the same CPU, and the ingest benchmark did not slow down.
 */
const CHUNK_BUDGET_MS = 1;
const CHUNK_MIN = 50;
const CHUNK_MAX = 5000;
/** Clock slack allowed between a boot's announcement and its first readings. */
const BOOT_TOLERANCE_MS = 60_000;
/** What a compartment sensor can plausibly read, °C. */
const PLAUSIBLE = { min: -45, max: 70 };
/** Per class, the lowest upper limit of its product categories: under it, no parcel is out. */
const TIGHTEST_MAX_C: Partial<Record<string, number>> = {};
for (const c of Object.values(PRODUCT_CATEGORIES))
  TIGHTEST_MAX_C[c.temperatureClass] = Math.min(
    TIGHTEST_MAX_C[c.temperatureClass] ?? Number.POSITIVE_INFINITY,
    c.maxC,
  );
const adviceFor = (by: number) => ({
  collectBefore: by,
  advice: `collect before ${new Date(by).toISOString().slice(11, 16)} UTC`,
});
const plausible = (c: number) => c >= PLAUSIBLE.min && c <= PLAUSIBLE.max;
/** The same value, unchanged, for this long: the sensor is stuck. */
export const STUCK_MS = 2 * 3_600_000;

interface Watch {
  door: number;
  cls: TemperatureClass;
}

/**
 * A sensor as the cold chain knows it: its rule state and the aggregates kept back, one object per
 * sensor for the hub's run, updated in place by each flush (a fleet sends each sensor a reading a
 * second: objects made anew per flush lived about a second, long enough to be copied by the
 * young-generation collector and promoted, and its pauses were a keypad entry's worst waits).
 */
interface Sensor {
  readonly lockerId: string;
  readonly sensor: string;
  /** Where in the 10-s period its writes fall (`phaseOf`). */
  readonly phase: number;
  /**
   * Its rule state (`SensorRuleState`) in fields a reading changes in place, NaN for none yet:
   * a state object per reading lived until the sensor's next reading, like the flushes' objects.
   */
  warning: LevelState;
  critical: LevelState;
  low: LowLevels;
  lastTs: number;
  lastC: number;
  valueSince: number;
  /** Counts the changes of its rule state: what was written is known by it. */
  version: number;
  interval: number | null;
  /** What the store holds for it: the state last written and when. */
  saved: Saved | null;
  /** When its latest reading was stored (hub clock). */
  seen: number;
  /** The 5-minute aggregate of its latest readings not written yet. */
  bucket: BucketWork | null;
  /** Aggregates of earlier 5-minute buckets not written yet. */
  retired: BucketWork[];
  // What a flush needs, set when the flush first meets the sensor:
  /** The flush that last met it, and the message (a second reading in one message is dropped). */
  flush: number;
  message: number;
  /** The compartments the sensor watches, their class and its thresholds (none: no rules). */
  watched: Watch[];
  cls: TemperatureClass | undefined;
  rules: ClassRules | null;
  /** Sensor alarms that may be open (SILENT, FAULT_CRITICAL, FAULT_WARNING): a reading ending one clears it. */
  open: number;
  /** The parcels stored behind the watched doors, read when a reading first needs them. */
  parcels: ParcelExposure[] | null;
  /**
   * Its rule state before some of its recent readings, one every CHECKPOINT_EVERY_MS of event
   * time over the last CHECKPOINTS: where a reading that comes late is judged again from.
   */
  checkpoints: Checkpoint[];
  /** The earliest late reading not judged again yet (event time), NaN: none. */
  replayFrom: number;
  /** Since when (hub clock) it has waited to be judged again: at most REPLAY_WAIT_MS while readings keep coming. */
  replayAsked: number;
  /** What it was before this flush met it (one object per sensor, filled in again by each flush). */
  readonly was: Was;
}

/**
 * What a sensor was before a flush met it: put back if the flush's transaction fails. Filled in
 * place: an object per sensor and flush lived as long as the flush, and a young-generation
 * collection in the middle of one (half of them, in a fleet) copied thousands of them.
 */
interface Was {
  /** Unknown to the hub before this flush (read from the store or new). */
  added: boolean;
  warning: LevelState;
  critical: LevelState;
  low: LowLevels;
  lastTs: number;
  lastC: number;
  valueSince: number;
  version: number;
  interval: number | null;
  saved: Saved | null;
  seen: number;
  /** The committed bucket (added to in place) and its sums, the list of earlier ones and its length. */
  bucket: BucketWork | null;
  min: number;
  max: number;
  sum: number;
  n: number;
  retired: BucketWork[];
  retiredLength: number;
  checkpoints: Checkpoint[];
  replayFrom: number;
  replayAsked: number;
}

/** A sensor's rule state just before its reading at `ts`. */
interface Checkpoint {
  ts: number;
  warning: LevelState;
  critical: LevelState;
  low: LowLevels;
  lastTs: number;
  lastC: number;
}

/** How long a sensor with late readings waits to be judged again while more readings keep coming. */
const REPLAY_WAIT_MS = 5000;
/** How far apart a sensor's checkpoints are, and how many it keeps: late readings within about 4 hours are judged again. */
const CHECKPOINT_EVERY_MS = 15 * 60_000;
const CHECKPOINTS = 17;

interface Saved {
  version: number;
  warning: LevelState;
  critical: LevelState;
  low: LowLevels;
  interval: number | null;
  at: number;
}

const orNull = (x: number): number | null => (Number.isNaN(x) ? null : x);

/** A sensor's rule state as the rules and the store take it. */
function ruleState(s: Sensor): SensorRuleState {
  return {
    warning: s.warning,
    critical: s.critical,
    low: s.low,
    lastTs: orNull(s.lastTs),
    lastC: orNull(s.lastC),
    valueSince: orNull(s.valueSince),
  };
}

interface ParcelExposure {
  id: string;
  state: string;
  /** Time out of range an operator vouched for by releasing it: its budget counts from there. */
  excused_ms: number;
  /** What it holds: its own limits (PRODUCT_CATEGORIES), or null for its class's. */
  category: string | null;
  /** When its goods came into the compartment (deposit or delivery), hub clock; 0 if unknown. */
  arrived: number | null;
  door: number;
  out_of_range_ms: number;
  breached_at: number | null;
}

/** The sensor alarms a reading can end, as bits of Sensor.open. */
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

export interface StoredReading {
  lockerId: string;
  sensor: string;
  ts: number;
  c: number;
}

/** Who is told the readings each flush stored (the live feed); asked first whether it listens. */
export interface StoredReadings {
  readonly listening: boolean;
  readings(batch: ReadonlyArray<StoredReading>): void;
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
  /** From a sensor the cabinet's profile does not have: dropped, never stored or remembered. */
  unknownSensor: number;
  /** A value no compartment can reach (a probe's fault code): an alarm, never a temperature. */
  fault: number;
  /** In a message the hub failed to store or judge, alone in its transaction: dropped (and logged). */
  failed: number;
  /** Taken before the sensor's latest reading: its rules judged again from a checkpoint (counted in outOfOrder too). */
  replayed: number;
  /** Taken before the sensor's oldest checkpoint (or before a hub restart): stored and shown, not judged. */
  tooLate: number;
}

export class ColdChain {
  #buffer: PendingMessage[] = [];
  /** Readings in the buffer. */
  #buffered = 0;
  /** The latest power report per locker since the last flush. */
  readonly #power = new Map<string, { mains: boolean; batteryV?: number; ts: number }>();
  readonly #watch = new Map<string, Map<string, Watch[]>>();
  readonly stats: ColdChainStats = {
    stored: 0,
    future: 0,
    outOfOrder: 0,
    beforeBoot: 0,
    unknownSensor: 0,
    fault: 0,
    failed: 0,
    replayed: 0,
    tooLate: 0,
  };
  /**
   * The sensors each cabinet's profile has: the only ones it may report. A cabinet inventing ids
   * would otherwise grow the hub's memory and store without bound (one rule state per id).
   */
  readonly #profileSensors = new Map<string, ReadonlySet<string> | null>();
  readonly #insert;
  /**
   * Every sensor heard since the hub started, per locker: its rule state as last committed (the
   * store holds the same or, for what is kept back, an older one; only this class writes it).
   */
  readonly #sensors = new Map<string, Map<string, Sensor>>();
  #sensorCount = 0;
  /** Flushes and messages counted, to tell a sensor's first reading in each. */
  #flushes = 0;
  #messages = 0;
  /** The sensors the transaction running now met (what each was is in its `was`). */
  #touched: Sensor[] = [];
  /** Open sensor alarms per locker and sensor (bits of Sensor.open), read at each flush. */
  #openSensorAlarms = new Map<string, Map<string, number>>();
  readonly #openSensorAlarmRows;
  readonly #aggregate;
  readonly #state;
  readonly #saveState;
  readonly #parcelsIn;
  readonly #exposed;
  readonly #parcel;
  readonly #recent;
  readonly #boot;
  /** Parcels that were in a compartment at a time and have left it since. */
  readonly #leftSince;
  /** Parcels that left a compartment after a time, having come in before another. */
  readonly #departed;
  /** Parcels a reading concerned after they left: settled (`settle`) at the end of the flush. */
  readonly #unsettled = new Set<string>();
  /** Sensors with late readings waiting to be judged again (`#replay`). */
  readonly #replayPending = new Set<Sensor>();
  /** Parcels behind a sensor judged again (`#replay`): settled, and released if no breach is left. */
  readonly #mayRelease = new Set<string>();
  /** The ledger position up to which goods moves were settled (`settleMoves`), kept in `cursors`. */
  #movesSeq: number;
  /** Each locker's boot as last read; forgotten when the locker announces a new one. */
  readonly #boots = new Map<string, { boot_id: string | null; boot_at: number | null }>();

  /** The locker came online or rebooted: its boot is read again with its next readings. */
  forgetBoot(lockerId: string): void {
    this.#boots.delete(lockerId);
  }

  /** When the hub started listening (hub clock): silence before it is not a sensor's. */
  readonly #since: number;
  readonly #states: ParcelStates;

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
    this.#since = now();
    this.#states = new ParcelStates(db, ledger);
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
    this.#parcel = db.prepare<
      [string],
      {
        id: string;
        state: ParcelState;
        locker_id: string;
        door: number;
        temperature_class: TemperatureClass;
        category: string | null;
        excused_ms: number;
        out_of_range_ms: number;
        breached_at: number | null;
        breach_reason: string | null;
      }
    >(
      `SELECT id, state, locker_id, door, temperature_class, category, excused_ms, out_of_range_ms, breached_at, breach_reason
       FROM parcels WHERE id = ?`,
    );
    this.#leftSince = db
      .prepare<[string, number, number, number], string>(
        `SELECT id FROM parcels WHERE locker_id = ? AND door = ? AND breached_at IS NULL
           AND coalesce(ready_at, stored_at) <= ? AND coalesce(picked_up_at, in_transit_at) > ?`,
      )
      .pluck();
    this.#departed = db
      .prepare<[string, number, number, number], string>(
        `SELECT id FROM parcels WHERE locker_id = ? AND door = ?
           AND coalesce(picked_up_at, in_transit_at) > ? AND coalesce(ready_at, stored_at) < ?`,
      )
      .pluck();
    // Where the last run stopped; a store that never kept it (new, or from before it was kept):
    // its moves so far need nothing more.
    this.#movesSeq = cursor(db, 'cold-chain-moves') ?? ledgerEnd(db);
    this.#parcelsIn = db.prepare<
      [string, number],
      {
        id: string;
        state: string;
        out_of_range_ms: number;
        breached_at: number | null;
        arrived: number | null;
        category: string | null;
        excused_ms: number;
      }
    >(
      // Whatever its state: a deposit in progress, stored, ready at its destination, expired uncollected.
      // Goods going in (a deposit, a delivery under way) are in since their door opened.
      `SELECT p.id, p.state, p.out_of_range_ms, p.breached_at,
              CASE WHEN p.state IN ('reserved', 'in_transit') THEN coalesce(c.door_changed_at, 0)
                   ELSE max(coalesce(p.stored_at, 0), coalesce(p.ready_at, 0)) END AS arrived,
              p.category, p.excused_ms
       FROM compartments c JOIN parcels p ON p.id = c.parcel_id
       WHERE c.locker_id = ? AND c.door = ? AND ${goodsInside()}`,
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
    const known = this.#sensorsOf(lockerId);
    const mine = known ? msg.readings.filter((r) => known.has(r.sensor)) : msg.readings;
    this.stats.unknownSensor += msg.readings.length - mine.length;
    // Each as its calibration says, if taken since (a reading buffered from before it is stored as
    // it would have been on time; a fault code stays one: it is no temperature to correct).
    const offsets = this.#offsetsOf(lockerId);
    const readings = offsets.size
      ? mine.map((r) => {
          const o = offsets.get(r.sensor);
          return o === undefined || msg.ts < o.since || !plausible(r.c)
            ? r
            : { sensor: r.sensor, c: Math.round((r.c + o.offset) * 1000) / 1000 };
        })
      : mine;
    if (readings.length) {
      this.#buffer.push({ lockerId, ts: msg.ts, readings });
      this.#buffered += readings.length;
    }
    if (msg.power) this.#power.set(lockerId, { ...msg.power, ts: msg.ts });
    this.#heard.add(lockerId);
    if (this.#buffered >= MAX_BUFFER) this.flushChunk();
  }

  readonly #heard = new Set<string>();

  /** Calibration offsets per sensor of a cabinet (°C added to what it reads) and since when, read once. */
  readonly #offsets = new Map<string, Map<string, { offset: number; since: number }>>();

  #offsetsOf(lockerId: string): Map<string, { offset: number; since: number }> {
    let offsets = this.#offsets.get(lockerId);
    if (!offsets) {
      const rows = this.db
        .prepare<[string], { sensor: string; offset_c: number; calibrated_at: number }>(
          'SELECT sensor, offset_c, calibrated_at FROM sensor_calibrations WHERE locker_id = ?',
        )
        .all(lockerId);
      offsets = new Map(rows.map((r) => [r.sensor, { offset: r.offset_c, since: r.calibrated_at }]));
      this.#offsets.set(lockerId, offsets);
    }
    return offsets;
  }

  /**
   * Records a sensor's calibration against a reference thermometer: `offsetC` is added to every
   * reading from now on (readings already stored stay as they were). Inside a transaction; the
   * caller appends the ledger entry.
   */
  calibrate(lockerId: string, sensor: string, offsetC: number, at: number, reference: string | null): void {
    if (!this.db.prepare('SELECT 1 FROM lockers WHERE id = ?').get(lockerId))
      throw new HubError('HUB_ERR_LOCKER_NOT_FOUND', `no locker ${lockerId}`);
    const known = this.#sensorsOf(lockerId);
    if (known && !known.has(sensor))
      throw new HubError('HUB_ERR_NOT_FOUND', `cabinet ${lockerId} has no sensor ${sensor}`);
    this.db
      .prepare(
        `INSERT INTO sensor_calibrations (locker_id, sensor, offset_c, calibrated_at, reference) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (locker_id, sensor) DO UPDATE SET offset_c = excluded.offset_c, calibrated_at = excluded.calibrated_at, reference = excluded.reference`,
      )
      .run(lockerId, sensor, offsetC, at, reference);
    this.#offsets.delete(lockerId);
  }

  /** The sensor ids of the cabinet's profile (null: a profile the hub does not know, all accepted). */
  #sensorsOf(lockerId: string): ReadonlySet<string> | null {
    let known = this.#profileSensors.get(lockerId);
    if (known === undefined) {
      const name = this.db.prepare('SELECT profile FROM lockers WHERE id = ?').pluck().get(lockerId) as
        | string
        | undefined;
      const profile = name ? lookupProfile(this.db, name) : undefined;
      known = profile ? new Set(profile.sensors.map((s) => s.id)) : null;
      this.#profileSensors.set(lockerId, known);
    }
    return known;
  }

  /** Where the sweep of kept-back values stopped: it goes through a tenth of the sensors a call. */
  #sweep: Iterator<Sensor> | null = null;

  *#all(lockerId?: string): Generator<Sensor> {
    if (lockerId !== undefined) {
      yield* this.#sensors.get(lockerId)?.values() ?? [];
      return;
    }
    for (const mine of this.#sensors.values()) yield* mine.values();
  }

  /**
   * Writes what was kept back (PERSIST_EVERY_MS) for sensors that went quiet: a
   * reading writes what is due for its own sensor, so only those no reading brings back (silent,
   * or gone) are left to this. The hub calls it every second; each call looks at a tenth of the
   * sensors, so a fleet's 30,000 cost a few hundred checks a second, not a burst.
   */
  sweepKeptBack(now = this.now()): void {
    const quiet = (seen: number, interval: number | null) =>
      now - seen >= Math.max(PERSIST_EVERY_MS, 2 * (interval ?? 0));
    let budget = Math.ceil(this.#sensorCount / 10);
    this.#writing(() => {
      while (budget-- > 0) {
        this.#sweep ??= this.#all();
        const next = this.#sweep.next();
        if (next.done) {
          this.#sweep = null;
          break;
        }
        if (quiet(next.value.seen, next.value.interval)) this.#writeKeptBack(next.value);
      }
    });
  }

  /** Writes everything kept back: all of it before the hub stops, or one cabinet's before its aggregates are read. */
  persist(lockerId?: string): void {
    this.#writing(() => {
      for (const e of this.#all(lockerId)) this.#writeKeptBack(e);
    });
  }

  /**
   * Runs `write` in a transaction; if it fails, the sensors it met are put back as they were, so
   * what was kept back stays kept back (to be written by a later sweep) instead of being taken
   * for written.
   */
  #writing(write: () => void): void {
    this.#touched.length = 0;
    this.#unsettled.clear();
    this.#mayRelease.clear();
    try {
      this.db.transaction(write)();
    } catch (err) {
      for (const s of this.#touched) this.#putBack(s);
      throw err;
    } finally {
      this.#touched.length = 0;
    }
  }

  #writeKeptBack(e: Sensor): void {
    this.#remember(e, false);
    for (const b of e.retired) this.#writeBucket(b);
    if (e.retired.length) e.retired = [];
    if (e.bucket) {
      this.#writeBucket(e.bucket);
      e.bucket = null;
    }
    const s = e.saved;
    if (s && s.version === e.version && s.interval === e.interval && s.at >= e.seen) return;
    this.#saveState.run(e.lockerId, e.sensor, JSON.stringify(ruleState(e)), e.seen, e.interval);
    e.saved = {
      version: e.version,
      warning: e.warning,
      critical: e.critical,
      low: e.low,
      interval: e.interval,
      at: e.seen,
    };
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
    const flush = ++this.#flushes;
    const current: StoredReading[] | null = this.onStored?.listening ? [] : null;
    const counted = { ...this.stats };
    let failure: { err: unknown; readings: number } | null = null;
    try {
      this.#writing(() => this.#flushBatch(batch, now, flush, current));
    } catch (err) {
      // Nothing of it was stored: neither are its readings counted. One message the cold chain
      // cannot take must not take the others with it: each goes again in a transaction of its
      // own, and one that fails alone is dropped and counted (a batch that failed was lost whole,
      // and a message that always fails would have lost every batch it was in).
      Object.assign(this.stats, counted);
      if (current) current.length = 0;
      failure = { err, readings: 0 };
      for (const m of batch) {
        const before = { ...this.stats };
        try {
          this.#writing(() => this.#flushBatch([m], now, ++this.#flushes, current));
        } catch {
          Object.assign(this.stats, before);
          this.stats.failed += m.readings.length;
          failure.readings += m.readings.length;
        }
      }
    }
    // Committed: the sensors keep what the flush made of them, for the next one to go on from.
    for (const s of this.#replayPending) if (Number.isNaN(s.replayFrom)) this.#replayPending.delete(s);
    this.#heard.clear();
    this.#power.clear();
    if (current?.length) this.onStored?.readings(current);
    if (failure?.readings) {
      const cause = failure.err instanceof Error ? failure.err.message : String(failure.err);
      throw new Error(`${failure.readings} readings dropped: ${cause}`, { cause: failure.err });
    }
    return this.#buffered;
  }

  /** What one flush's transaction does: stores and evaluates `batch`, writes what came due. */
  #flushBatch(batch: PendingMessage[], now: number, flush: number, current: StoredReading[] | null): void {
    // The few sensor alarms open now: a reading need not look each one up to clear it.
    this.#openSensorAlarms = new Map();
    for (const a of this.#openSensorAlarmRows.all() as Array<{
      locker_id: string;
      sensor: string;
      kind: string;
      level: string;
    }>) {
      let mine = this.#openSensorAlarms.get(a.locker_id);
      if (!mine) {
        mine = new Map();
        this.#openSensorAlarms.set(a.locker_id, mine);
      }
      mine.set(a.sensor, (mine.get(a.sensor) ?? 0) | (ALARM_BITS[`${a.kind}/${a.level}`] ?? 0));
    }
    for (const m of batch) this.#message(m, now, flush, current);
    for (const s of this.#touched) {
      // A bucket that just ended waits for the sensor's turn too: at a 5-minute boundary a
      // whole fleet retires its buckets at once.
      const since = s.retired[0]?.since ?? s.bucket?.since;
      if (since !== undefined && dueAgain(s.phase, since, now)) {
        for (const b of s.retired) this.#writeBucket(b);
        // A new list: a failed flush puts the committed one back as it was.
        if (s.retired.length) s.retired = [];
        if (s.bucket) this.#writeBucket(s.bucket);
        s.bucket = null;
      }
      if (!this.#due(s, now)) continue;
      this.#saveState.run(s.lockerId, s.sensor, JSON.stringify(ruleState(s)), now, s.interval);
      s.saved = {
        version: s.version,
        warning: s.warning,
        critical: s.critical,
        low: s.low,
        interval: s.interval,
        at: now,
      };
    }
    // Once the buffer is drained (a backlog judged again once, not at each of its chunks), or
    // after REPLAY_WAIT_MS while readings keep coming.
    for (const s of this.#replayPending) {
      if (Number.isNaN(s.replayFrom) || (this.#buffered > 0 && now - s.replayAsked < REPLAY_WAIT_MS))
        continue;
      if (s.flush !== flush) {
        this.#remember(s, false);
        s.flush = flush;
      }
      this.#replay(s);
    }
    for (const id of this.#unsettled) this.settle(id);
    for (const id of this.#mayRelease) {
      this.settle(id, true);
      // Sealed before these readings came: drawn again with them.
      resealRecord(this.db, id, now, this.rulesFor);
    }
    this.#unsettled.clear();
    this.#mayRelease.clear();
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
  }

  /**
   * Told, after each flush has committed, the readings that became their sensor's current value
   * (stored, in order, plausible): the live feed passes them on. Nothing is collected for it
   * while it does not listen.
   */
  onStored?: StoredReadings;

  /** Stores a message as one row, then evaluates its readings; the current ones go to `current`. */
  #message(m: PendingMessage, now: number, flush: number, current: StoredReading[] | null): void {
    if (m.ts > now + FUTURE_TOLERANCE_MS) {
      this.stats.future += m.readings.length; // a clock far ahead would open and close alarms at the wrong times
      return;
    }
    const message = ++this.#messages;
    const met = this.#met;
    const values = this.#values;
    met.length = 0;
    values.length = 0;
    // The row: the values by sensor, as JSON. A plain object for JSON.stringify, which writes
    // numbers straight into its output; numbers turned into strings one by one (a template) land
    // in V8's number-string cache, which kept them alive into the old generation.
    const row: Record<string, number> = {};
    for (const { sensor, c } of m.readings) {
      const s = this.#sensor(m.lockerId, sensor, now, flush);
      if (!plausible(c)) {
        // A probe's fault code (−127 °C: a DS18B20 off its wire; +85 °C: one reset): an alarm, and
        // never a temperature in a record, a daily sheet or a rule.
        this.stats.fault++;
        this.#implausible(s, m.ts, c, now);
        continue;
      }
      // The same sensor twice at one instant: the first value counts, the second is out of order.
      if (s.message === message) {
        this.stats.outOfOrder++;
        continue;
      }
      s.message = message;
      if (sensor === '__proto__') Object.defineProperty(row, sensor, { value: c, enumerable: true });
      else row[sensor] = c;
      met.push(s);
      values.push(c);
    }
    if (met.length) this.#insert.run(m.lockerId, m.ts, JSON.stringify(row));
    for (let i = 0; i < met.length; i++) {
      const s = met[i] as Sensor;
      const c = values[i] as number;
      if (this.#reading(s, m.ts, c, now) && current)
        current.push({ lockerId: s.lockerId, sensor: s.sensor, ts: m.ts, c });
    }
  }

  /** The "collect before" last given per warned sensor, not to rewrite its alarm every reading. */
  readonly #advised = new WeakMap<Sensor, number | null>();

  /**
   * When the goods behind a warned sensor will be lost: the recent rise extrapolated to the
   * critical limit plus its delay, or sooner, the moment a parcel inside runs out of its cumulative
   * budget if the compartment stays out of range.
   */
  #collectBy(s: Sensor, ts: number, c: number, rules: ClassRules): number | null {
    const rise = collectBefore(
      this.#recent.all(s.lockerId, s.sensor, ts - 15 * 60_000, ts),
      rules,
      s.critical,
    );
    if (rules.cumulativeMs === null || !(c > rules.keepMax || (rules.keepMin !== null && c < rules.keepMin)))
      return rise;
    let left = Number.POSITIVE_INFINITY;
    for (const w of s.watched)
      for (const p of this.#parcelsIn.all(s.lockerId, w.door))
        if (p.state !== 'quarantined')
          left = Math.min(left, rules.cumulativeMs - (p.out_of_range_ms - p.excused_ms));
    if (!Number.isFinite(left)) return rise;
    const budget = ts + Math.max(0, left);
    return rise === null ? budget : Math.min(rise, budget);
  }

  /** A message's sensors and values, in order (kept between messages: no garbage per message). */
  readonly #met: Sensor[] = [];
  readonly #values: number[] = [];

  /** Evaluates one stored reading; true when it is now its sensor's current value. */
  #reading(s: Sensor, ts: number, c: number, now: number): boolean {
    this.#aggregate5m(s, ts, c, now);
    this.stats.stored++;
    const prevTs = s.lastTs;
    const prevC = s.lastC;
    const first = Number.isNaN(prevTs);
    // The hub's own clock measures silence; the readings' rhythm sets what silence is.
    if (!first && ts > prevTs) s.interval = ts - prevTs;
    this.#clearOnce(s, SILENT, 'sensor_silent', 'critical', now);
    if (!first && ts <= prevTs) {
      this.stats.outOfOrder++;
      // Taken before the latest one: judged again with the others, from a checkpoint before it.
      if (ts < prevTs && !(ts >= s.replayFrom)) {
        s.replayFrom = ts;
        if (Number.isNaN(s.replayAsked)) s.replayAsked = now;
        this.#replayPending.add(s);
      }
      return false;
    }
    const lastCheckpoint = s.checkpoints.at(-1);
    if (first && s.checkpoints.length === 0) {
      // A sensor never heard before: what comes before its first reading is judged from nothing.
      s.checkpoints = [
        {
          ts: 0,
          warning: s.warning,
          critical: s.critical,
          low: s.low,
          lastTs: Number.NaN,
          lastC: Number.NaN,
        },
      ];
    } else if (!first && (!lastCheckpoint || ts - lastCheckpoint.ts >= CHECKPOINT_EVERY_MS)) {
      // A new list (a failed flush puts the committed one back as it was).
      s.checkpoints = [
        ...s.checkpoints.slice(-(CHECKPOINTS - 1)),
        { ts, warning: s.warning, critical: s.critical, low: s.low, lastTs: prevTs, lastC: prevC },
      ];
    }
    const { watched, cls, rules } = s;
    if (this.#implausible(s, ts, c, now)) {
      // Stored for the record, never fed to the rules: a broken probe must not clear or raise anything.
      return false;
    }
    // Only where a compressor cycles: an ambient probe in a quiet room may well read the same for hours.
    if (cls === 'chilled' || cls === 'frozen') this.#stuck(s, ts, c, prevTs, prevC, now);
    const valueSince = prevC === c ? (Number.isNaN(s.valueSince) ? prevTs : s.valueSince) : ts;
    if (cls && rules) {
      const { state, changes } = step(ruleState(s), ts, c, rules);
      s.warning = state.warning;
      s.critical = state.critical;
      s.low = state.low ?? LOW_NORMAL;
      for (const ch of changes) {
        const kind = ch.side === 'low' ? 'temperature_low' : 'temperature_high';
        if (ch.change === 'raise') {
          const by = ch.level === 'warning' && ch.side === 'high' ? this.#collectBy(s, ts, c, rules) : null;
          const advice = by ? adviceFor(by) : {};
          if (by) this.#advised.set(s, by);
          this.alarms.raise({
            lockerId: s.lockerId,
            sensor: s.sensor,
            kind,
            level: ch.level,
            at: ch.at,
            since: ch.since,
            details: { c, doors: watched.map((w) => w.door), class: cls, ...advice },
          });
          if (ch.level === 'critical') {
            for (const w of watched) this.#quarantine(s.lockerId, w.door, ch.at, 'critical');
            s.parcels = null;
          }
        } else {
          this.alarms.clear(s.lockerId, s.sensor, kind, ch.level, ch.at);
        }
      }
      const justRaised = changes.some((ch) => ch.level === 'critical' && ch.change === 'raise');
      if (s.critical.raised && rules.critical && c > rules.critical.above && !justRaised) {
        // Still critical and still warm: whatever came into the compartment since the alarm rose
        // (a parcel released meanwhile, a deposit) is held too.
        for (const w of watched) this.#quarantine(s.lockerId, w.door, ts, 'critical');
        s.parcels = null;
      }
      this.#exposure(s, ts, prevTs, prevC, rules);
      // While warned and not yet critical, "collect before" follows the compartment as it warms.
      if (s.warning.raised && !s.critical.raised && changes.length === 0) {
        const by = this.#collectBy(s, ts, c, rules);
        const before = this.#advised.get(s);
        if (by !== null && (before == null || Math.abs(by - before) >= 60_000)) {
          this.#advised.set(s, by);
          this.alarms.amend(s.lockerId, s.sensor, 'temperature_high', 'warning', adviceFor(by));
        } else if (by === null && before !== null) {
          // No longer warming (and no parcel's budget running out): a time given before would mislead.
          // (Unknown after a restart: said again, which changes nothing if it was said.)
          this.#advised.set(s, null);
          this.alarms.amend(s.lockerId, s.sensor, 'temperature_high', 'warning', {
            collectBefore: null,
            advice: 'not warming any more',
          });
        }
      }
    }
    s.lastTs = ts;
    s.lastC = c;
    s.valueSince = valueSince;
    s.version++;
    return true;
  }

  /**
   * Whether a sensor's state must be written now: never written, an alarm level moved (levels are
   * replaced, never changed, so identity says it), its rhythm first known, or written too long ago.
   */
  #due(s: Sensor, now: number): boolean {
    const saved = s.saved;
    return (
      !saved ||
      saved.warning !== s.warning ||
      saved.critical !== s.critical ||
      saved.low !== s.low ||
      (saved.interval === null && s.interval !== null) ||
      dueAgain(s.phase, saved.at, now)
    );
  }

  /**
   * The sensor, ready for this flush: read from the store the first time the hub meets it; at
   * the first reading of each flush, what it watches and its open alarms are looked up and what it
   * was is noted (to put back if the flush fails). Its last-heard time is the flush's.
   */
  #sensor(lockerId: string, sensor: string, now: number, flush: number): Sensor {
    let mine = this.#sensors.get(lockerId);
    if (!mine) {
      mine = new Map();
      this.#sensors.set(lockerId, mine);
    }
    let s = mine.get(sensor);
    let added = false;
    if (!s) {
      const row = this.#state.get(lockerId, sensor);
      const state: SensorRuleState = row ? JSON.parse(row.rules) : initialState();
      const interval = row?.interval_ms ?? null;
      const { warning, critical } = state;
      const low = state.low ?? LOW_NORMAL;
      s = {
        lockerId,
        sensor,
        phase: phaseOf(`${lockerId}\u0000${sensor}`),
        warning,
        critical,
        low,
        lastTs: state.lastTs ?? Number.NaN,
        lastC: state.lastC ?? Number.NaN,
        valueSince: state.valueSince ?? Number.NaN,
        version: 0,
        interval,
        saved: row ? { version: 0, warning, critical, low, interval, at: row.last_seen } : null,
        seen: row?.last_seen ?? 0,
        bucket: null,
        retired: [],
        flush: 0,
        message: 0,
        watched: [],
        cls: undefined,
        rules: null,
        open: 0,
        parcels: null,
        checkpoints: [],
        replayFrom: Number.NaN,
        replayAsked: Number.NaN,
        was: {
          added: true,
          warning,
          critical,
          low,
          lastTs: Number.NaN,
          lastC: Number.NaN,
          valueSince: Number.NaN,
          version: 0,
          interval: null,
          saved: null,
          seen: 0,
          bucket: null,
          min: 0,
          max: 0,
          sum: 0,
          n: 0,
          retired: [],
          retiredLength: 0,
          checkpoints: [],
          replayFrom: Number.NaN,
          replayAsked: Number.NaN,
        },
      };
      mine.set(sensor, s);
      this.#sensorCount++;
      added = true;
    }
    if (s.flush === flush) return s;
    this.#remember(s, added);
    s.flush = flush;
    s.seen = now;
    s.watched = this.#watched(lockerId, sensor);
    s.cls = s.watched[0]?.cls;
    s.rules = s.cls ? this.rulesFor(lockerId, s.cls) : null;
    s.open = this.#openSensorAlarms.get(lockerId)?.get(sensor) ?? 0;
    s.parcels = null;
    return s;
  }

  /** Notes what a sensor is, to put it back if the transaction about to change it fails. */
  #remember(s: Sensor, added: boolean): void {
    const b = s.bucket;
    const was = s.was;
    was.added = added;
    was.warning = s.warning;
    was.critical = s.critical;
    was.low = s.low;
    was.lastTs = s.lastTs;
    was.lastC = s.lastC;
    was.valueSince = s.valueSince;
    was.version = s.version;
    was.interval = s.interval;
    was.saved = s.saved;
    was.seen = s.seen;
    was.bucket = b;
    was.min = b ? b.min : 0;
    was.max = b ? b.max : 0;
    was.sum = b ? b.sum : 0;
    was.n = b ? b.n : 0;
    was.retired = s.retired;
    was.retiredLength = s.retired.length;
    was.checkpoints = s.checkpoints;
    was.replayFrom = s.replayFrom;
    was.replayAsked = s.replayAsked;
    this.#touched.push(s);
  }

  /** Puts a sensor back as it was before a flush that failed (its transaction rolled back). */
  #putBack(s: Sensor): void {
    const u = s.was;
    s.flush = 0;
    if (u.added) {
      this.#sensors.get(s.lockerId)?.delete(s.sensor);
      this.#sensorCount--;
      return;
    }
    s.warning = u.warning;
    s.critical = u.critical;
    s.low = u.low;
    s.lastTs = u.lastTs;
    s.lastC = u.lastC;
    s.valueSince = u.valueSince;
    s.version = u.version;
    s.interval = u.interval;
    s.saved = u.saved;
    s.seen = u.seen;
    s.bucket = u.bucket;
    if (u.bucket) {
      u.bucket.min = u.min;
      u.bucket.max = u.max;
      u.bucket.sum = u.sum;
      u.bucket.n = u.n;
    }
    s.retired = u.retired;
    u.retired.length = u.retiredLength;
    s.checkpoints = u.checkpoints;
    s.replayFrom = u.replayFrom;
    s.replayAsked = u.replayAsked;
  }

  #writeBucket(b: BucketWork): void {
    this.#aggregate.run(b.lockerId, b.sensor, b.bucket, b.min, b.max, b.sum, b.n);
  }

  /** Adds a reading to its 5-minute aggregate, written about every PERSIST_EVERY_MS (`dueAgain`). */
  #aggregate5m(s: Sensor, ts: number, c: number, now: number): void {
    const bucket = Math.floor(ts / FIVE_MIN) * FIVE_MIN;
    let b = s.bucket;
    if (b?.bucket !== bucket) {
      // The next bucket (or, out of order, an earlier one): what the last one holds is written at
      // the sensor's next turn; the store merges aggregates of the same bucket.
      if (b) s.retired.push(b);
      b = { lockerId: s.lockerId, sensor: s.sensor, bucket, min: c, max: c, sum: 0, n: 0, since: now };
      s.bucket = b;
    }
    if (c < b.min) b.min = c;
    if (c > b.max) b.max = c;
    b.sum += c;
    b.n++;
  }

  /** Clears an alarm a reading ends, looking it up once per sensor and flush. */
  #clearOnce(
    work: Sensor,
    bit: number,
    kind: 'sensor_silent' | 'sensor_fault',
    level: 'warning' | 'critical',
    now: number,
  ): void {
    if ((work.open & bit) === 0) return;
    work.open &= ~bit;
    this.alarms.clear(work.lockerId, work.sensor, kind, level, now);
  }

  /**
   * Adds the time since the previous reading to each parcel inside if that reading was out of its
   * range. A parcel that left within that time (its pickup reached the hub before these readings)
   * is settled from the store instead (`settle`).
   */
  #exposure(work: Sensor, ts: number, prevTs: number, prevC: number, rules: ClassRules): void {
    if (Number.isNaN(prevTs) || Number.isNaN(prevC)) return;
    const outOf = (min: number | null, max: number) => prevC > max || (min !== null && prevC < min);
    const out = outOf(rules.keepMin, rules.keepMax);
    // In the class's range, and under every category's limit of the class: nobody is out.
    if (!out && prevC <= (TIGHTEST_MAX_C[work.cls ?? 'ambient'] ?? Number.POSITIVE_INFINITY)) return;
    const dt = Math.min(MAX_STEP_MS, ts - prevTs);
    for (const w of work.watched)
      if (this.#lastLeft(work.lockerId, w.door) > prevTs)
        for (const id of this.#departed.all(work.lockerId, w.door, prevTs, prevTs + dt))
          this.#unsettled.add(id);
    // Deposits and pickups commit outside a flush: the parcels behind a door hold still during one.
    work.parcels ??= work.watched.flatMap((w) =>
      this.#parcelsIn.all(work.lockerId, w.door).map((p) => ({ ...p, door: w.door })),
    );
    for (const p of work.parcels) {
      // A parcel's own limits (PRODUCT_CATEGORIES), or its class's.
      const own = p.category ? PRODUCT_CATEGORIES[p.category as ProductCategory] : undefined;
      if (!(own ? outOf(own.minC ?? rules.keepMin, own.maxC) : out)) continue;
      // The previous value reaches MAX_STEP_MS past its reading, and counts only once the goods
      // were in this compartment: a delivery after a warm reading does not inherit the time before.
      const mine = p.arrived !== null && p.arrived > prevTs ? Math.max(0, prevTs + dt - p.arrived) : dt;
      if (mine === 0) continue;
      p.out_of_range_ms += mine;
      this.#exposed.run(p.out_of_range_ms, p.id);
      // Over its budget and not held: quarantined. A parcel an operator released has its budget
      // again from then (the time it had spent is `excused_ms`).
      const over = rules.cumulativeMs === null ? -1 : p.out_of_range_ms - p.excused_ms - rules.cumulativeMs;
      if (rules.cumulativeMs !== null && over >= 0 && p.state !== 'quarantined') {
        // The instant the budget ran out, within the span just counted.
        const at = prevTs + dt - over;
        this.#quarantine(work.lockerId, p.door, at, 'cumulative');
        for (const q of work.parcels) if (q.door === p.door) q.state = 'quarantined';
        // Held without any temperature alarm (short excursions adding up): an operator is told.
        this.#exposureAlarm(
          work.lockerId,
          work.sensor,
          p.door,
          p.id,
          at,
          p.out_of_range_ms,
          rules.cumulativeMs,
        );
      }
    }
  }

  #exposureAlarm(
    lockerId: string,
    sensor: string,
    door: number,
    parcelId: string,
    at: number,
    outOfRangeMs: number,
    limitMs: number,
  ): void {
    this.alarms.raise({
      lockerId,
      sensor,
      kind: 'exposure_limit',
      level: 'critical',
      at,
      details: {
        door,
        parcel: parcelId,
        minutesOutOfRange: Math.round(outOfRangeMs / 60_000),
        limitMinutes: Math.round(limitMs / 60_000),
      },
    });
  }

  /**
   * Judges a sensor's readings again from the checkpoint before its earliest late one, in the order
   * they were taken: the alarms become those the readings give on time (raised or cleared at their
   * own instants, one that they do not give withdrawn), and the parcels behind its doors are
   * settled from the store. Inside the flush's transaction.
   */
  #replay(s: Sensor): void {
    const from = s.replayFrom;
    s.replayFrom = Number.NaN;
    s.replayAsked = Number.NaN;
    const rules = s.rules;
    if (!s.cls || !rules) return;
    let cp: Checkpoint | undefined;
    for (const c of s.checkpoints) if (c.ts <= from) cp = c;
    if (!cp) {
      // Too old to judge again; its time out of range still counts for the parcels it concerns.
      this.stats.tooLate++;
      for (const w of s.watched) {
        for (const p of this.#parcelsIn.all(s.lockerId, w.door)) this.#unsettled.add(p.id);
        for (const id of this.#departed.all(s.lockerId, w.door, from - MAX_STEP_MS, Number.MAX_SAFE_INTEGER))
          this.#unsettled.add(id);
      }
      return;
    }
    this.stats.replayed++;
    let state: SensorRuleState = {
      warning: cp.warning,
      critical: cp.critical,
      low: cp.low,
      lastTs: orNull(cp.lastTs),
      lastC: orNull(cp.lastC),
    };
    const start = cp;
    const checkpoints = s.checkpoints.filter((c) => c.ts <= start.ts);
    const changes: Array<Change & { c: number }> = [];
    for (const r of this.#recent.all(s.lockerId, s.sensor, cp.ts, Number.MAX_SAFE_INTEGER)) {
      if (state.lastTs !== null && r.ts <= state.lastTs) continue; // the same instant twice: the first counts
      const last = checkpoints.at(-1) as Checkpoint;
      if (r.ts - last.ts >= CHECKPOINT_EVERY_MS)
        checkpoints.push({
          ts: r.ts,
          warning: state.warning,
          critical: state.critical,
          low: state.low ?? LOW_NORMAL,
          lastTs: state.lastTs ?? Number.NaN,
          lastC: state.lastC ?? Number.NaN,
        });
      const out = step(state, r.ts, r.c, rules);
      for (const ch of out.changes) changes.push({ ...ch, c: r.c });
      state = out.state;
    }
    s.checkpoints = checkpoints.slice(-CHECKPOINTS);
    s.warning = state.warning;
    s.critical = state.critical;
    s.low = state.low ?? LOW_NORMAL;
    s.version++;
    this.#reconcileAlarms(s, start, changes);
    for (const w of s.watched) {
      for (const p of this.#parcelsIn.all(s.lockerId, w.door)) this.#mayRelease.add(p.id);
      for (const id of this.#departed.all(
        s.lockerId,
        w.door,
        start.ts - MAX_STEP_MS,
        Number.MAX_SAFE_INTEGER,
      ))
        this.#mayRelease.add(id);
    }
  }

  /**
   * Makes a sensor's temperature alarms from `cp` on the ones `changes` (a replay from `cp`) give:
   * an episode already recorded keeps its row (its clearing moved to where it now ends), a missing
   * one is raised (and cleared) at its own instants, a recorded one the readings no longer give is
   * withdrawn: cleared where it rose, and left out of records and breaches.
   */
  #reconcileAlarms(s: Sensor, cp: Checkpoint, changes: ReadonlyArray<Change & { c: number }>): void {
    const rows = this.db
      .prepare<
        [string, string, number, number],
        {
          id: string;
          kind: string;
          level: string;
          raised_at: number;
          cleared_at: number | null;
          acked_at: number | null;
        }
      >(
        `SELECT id, kind, level, raised_at, cleared_at, acked_at FROM alarms
         WHERE locker_id = ? AND sensor = ? AND kind IN ('temperature_high', 'temperature_low')
           AND json_extract(details, '$.withdrawn') IS NULL
           AND (raised_at >= ? OR cleared_at IS NULL OR cleared_at >= ?)
         ORDER BY raised_at`,
      )
      .all(s.lockerId, s.sensor, cp.ts, cp.ts);
    const levels: Array<[Level, 'high' | 'low', LevelState]> = [
      ['warning', 'high', cp.warning],
      ['critical', 'high', cp.critical],
      ['warning', 'low', cp.low.warning],
      ['critical', 'low', cp.low.critical],
    ];
    for (const [level, side, before] of levels) {
      const kind = side === 'low' ? 'temperature_low' : 'temperature_high';
      // The episodes the readings give, the one under way at the checkpoint first.
      const truth: Array<{ raisedAt: number | null; since: number; c: number; clearedAt: number | null }> =
        [];
      if (before.raised)
        truth.push({
          raisedAt: before.raisedAt ?? null,
          since: before.since ?? cp.ts,
          c: Number.NaN,
          clearedAt: null,
        });
      for (const ch of changes) {
        if (ch.level !== level || ch.side !== side) continue;
        if (ch.change === 'raise') truth.push({ raisedAt: ch.at, since: ch.since, c: ch.c, clearedAt: null });
        else {
          const open = truth.at(-1);
          if (open && open.clearedAt === null) open.clearedAt = ch.at;
        }
      }
      const mine = rows.filter((r) => r.kind === kind && r.level === level);
      const matched = new Set<string>();
      const missing: typeof truth = [];
      for (const ep of truth) {
        // Under way at the checkpoint, in a state that did not keep when it rose: the one open then.
        const row =
          ep.raisedAt === null
            ? [...mine]
                .reverse()
                .find(
                  (r) =>
                    !matched.has(r.id) &&
                    r.raised_at < cp.ts &&
                    (r.cleared_at === null || r.cleared_at >= cp.ts),
                )
            : mine.find((r) => !matched.has(r.id) && r.raised_at === ep.raisedAt);
        if (!row) {
          if (ep.raisedAt !== null) missing.push(ep);
          continue;
        }
        matched.add(row.id);
        if (row.cleared_at === ep.clearedAt) continue;
        if (ep.clearedAt === null)
          this.db
            .prepare('UPDATE alarms SET state = ?, cleared_at = NULL WHERE id = ?')
            .run(row.acked_at === null ? 'raised' : 'acknowledged', row.id);
        else if (row.cleared_at === null) this.alarms.clear(s.lockerId, s.sensor, kind, level, ep.clearedAt);
        else this.db.prepare('UPDATE alarms SET cleared_at = ? WHERE id = ?').run(ep.clearedAt, row.id);
      }
      for (const row of mine) {
        if (matched.has(row.id)) continue;
        this.alarms.withdraw(row.id, this.now(), 'late_readings');
      }
      for (const ep of missing) {
        this.alarms.episode({
          lockerId: s.lockerId,
          sensor: s.sensor,
          kind,
          level,
          at: ep.raisedAt as number,
          since: ep.since,
          details: { c: ep.c, doors: s.watched.map((w) => w.door), class: s.cls },
          clearedAt: ep.clearedAt,
        });
      }
    }
  }

  /**
   * Makes a parcel's time out of range and its breach what the store says they are
   * (exposure.ts), whatever order its facts reached the hub in: a deposit heard of after the
   * readings around it, a pickup before them, readings after the parcel left. A breach found is
   * acted on as it would have been on time: the parcel is held, or, gone, its record says
   * breached. One recorded for a parcel that had already left then (a late pickup) is withdrawn.
   * Inside a transaction.
   */
  settle(parcelId: string, mayRelease = false): void {
    const p = this.#parcel.get(parcelId);
    if (!p) return;
    const { stays, end } = custodyOf(this.db, parcelId);
    if (stays.length === 0) return;
    // Readings of its stays pruned already (a parcel kept past the raw retention): the store can no
    // longer say better than what was counted as they came.
    const pruned = cursor(this.db, 'readings-pruned-before');
    if (pruned !== undefined && stays.some((st) => st.sensor !== null && st.from - MAX_STEP_MS < pruned))
      return;
    const exposure = exposureOf(this.db, p, stays, this.rulesFor);
    if (exposure.ms !== p.out_of_range_ms) this.#exposed.run(exposure.ms, p.id);
    // An operator's release rewrote its story: the breach it vouched for stays as recorded.
    if (p.excused_ms > 0) return;
    const critical = firstBreach(this.db, p, stays, this.rulesFor);
    const crossed = exposure.crossed;
    const breach =
      critical !== null && (crossed === null || critical <= crossed.at)
        ? { at: critical, reason: 'critical' as const }
        : crossed
          ? { at: crossed.at, reason: 'cumulative' as const }
          : null;
    const gone =
      end !== null ||
      p.state === 'picked_up' ||
      p.state === 'retrieved_by_producer' ||
      p.state === 'cancelled';
    const actor = { actor: 'hub', at: this.now() };
    if (breach === null) {
      if (p.breached_at === null) return;
      if (!gone) {
        // Held for a breach late readings no longer give (judged again in their order).
        if (!mayRelease || p.state !== 'quarantined') return;
        this.#states.move(p.id, 'unhold', {
          ...actor,
          data: { at: p.breached_at, reason: p.breach_reason, why: 'late_readings' },
          set: { breached_at: null, breach_reason: null },
        });
        // Its budget did not run out after all: the alarm that said so goes with the hold.
        const told = this.db
          .prepare(
            `SELECT id FROM alarms WHERE kind = 'exposure_limit' AND state <> 'cleared' AND json_extract(details, '$.parcel') = ?`,
          )
          .pluck()
          .all(p.id) as string[];
        for (const id of told) this.alarms.withdraw(id, actor.at, 'late_readings');
        return;
      }
      // Held for a breach that came after its goods had left (its pickup reached the hub late).
      this.db.prepare('UPDATE parcels SET breached_at = NULL, breach_reason = NULL WHERE id = ?').run(p.id);
      this.ledger.append({
        ts: actor.at,
        type: 'parcel.breach_withdrawn',
        actor: 'hub',
        lockerId: p.locker_id,
        door: p.door,
        parcelId: p.id,
        data: { at: p.breached_at, reason: p.breach_reason, why: 'after_it_left' },
      });
      return;
    }
    if (p.breached_at === breach.at && p.breach_reason === breach.reason) return;
    const last = stays.at(-1) as (typeof stays)[number];
    if (crossed && breach.reason === 'cumulative' && p.breached_at === null)
      this.#exposureAlarm(
        crossed.lockerId,
        crossed.sensor,
        crossed.door,
        p.id,
        crossed.at,
        crossed.ms,
        this.rulesFor(crossed.lockerId, p.temperature_class).cumulativeMs ?? 0,
      );
    if (!gone && p.state !== 'quarantined' && ParcelStates.allows('quarantine', p.state)) {
      this.#states.move(p.id, 'quarantine', {
        ...actor,
        lockerId: last.lockerId,
        door: last.door,
        data: { reason: breach.reason, at: breach.at },
        set: { breached_at: breach.at, breach_reason: breach.reason },
      });
      return;
    }
    if (p.breached_at === null) {
      this.#states.breachedAfterLeaving(p.id, {
        ...actor,
        lockerId: last.lockerId,
        door: last.door,
        data: { reason: breach.reason, at: breach.at },
      });
      amendSealedBreach(this.db, p.id, breach);
      return;
    }
    // Recorded at another instant than the store shows (a breach heard of late, then an earlier one).
    this.db
      .prepare('UPDATE parcels SET breached_at = ?, breach_reason = ? WHERE id = ?')
      .run(breach.at, breach.reason, p.id);
    this.ledger.append({
      ts: actor.at,
      type: 'parcel.breach_corrected',
      actor: 'hub',
      lockerId: last.lockerId,
      door: last.door,
      parcelId: p.id,
      data: { at: breach.at, reason: breach.reason, was: { at: p.breached_at, reason: p.breach_reason } },
    });
  }

  /**
   * Settles every parcel whose goods moved (deposit, delivery, collection, pickup) since the last
   * round: its move may have reached the hub after the readings around it. Part of the hub's
   * periodic work; returns the parcels it could not settle, for the hub to log.
   */
  settleMoves(): Array<{ parcelId: string; err: unknown }> {
    const moved = this.db
      .prepare<
        [number],
        {
          parcel_id: string;
          seq: number;
          type: string;
          ts: number;
          locker_id: string | null;
          door: number | null;
        }
      >(
        `SELECT parcel_id, seq, type, ts, locker_id, door FROM events WHERE seq > ? AND parcel_id IS NOT NULL
           AND type IN ${GOODS_MOVES_SQL}
         ORDER BY seq LIMIT 500`,
      )
      .all(this.#movesSeq);
    const failed: Array<{ parcelId: string; err: unknown }> = [];
    if (moved.length === 0) return failed;
    const through = (moved.at(-1) as { seq: number }).seq;
    this.db.transaction(() => {
      for (const id of new Set(moved.map((m) => m.parcel_id)))
        try {
          // Its own savepoint: one parcel the store cannot settle must not hold up the others.
          this.db.transaction(() => this.settle(id))();
        } catch (err) {
          failed.push({ parcelId: id, err });
        }
      saveCursor(this.db, 'cold-chain-moves', through);
    })();
    this.#movesSeq = through;
    for (const m of moved) {
      if (m.locker_id === null || m.door === null) continue;
      if (m.type !== 'parcel.picked_up' && m.type !== 'parcel.in_transit') continue;
      const doors = this.#left.get(m.locker_id);
      const known = doors?.get(m.door);
      if (known !== undefined && m.ts > known) doors?.set(m.door, m.ts);
    }
    return failed;
  }

  /**
   * When goods last left a door (cabinet time), as far as this run of the hub knows: a reading
   * older than that may concern a parcel gone since. Read once per door, then kept up by
   * `settleMoves`; the readings' hot path asks nothing of the store while it is older.
   */
  readonly #left = new Map<string, Map<number, number>>();

  #lastLeft(lockerId: string, door: number): number {
    // Per locker, then per door: no key to build per reading.
    let doors = this.#left.get(lockerId);
    if (!doors) {
      doors = new Map();
      this.#left.set(lockerId, doors);
    }
    let at = doors.get(door);
    if (at === undefined) {
      at =
        (cached(
          this.db,
          'SELECT max(coalesce(picked_up_at, in_transit_at)) FROM parcels WHERE locker_id = ? AND door = ?',
          'pluck',
        ).get(lockerId, door) as number | null) ?? Number.NEGATIVE_INFINITY;
      doors.set(door, at);
    }
    return at;
  }

  /**
   * Values no compartment can reach are a sensor fault (a disconnected DS18B20 reads −127 °C, a
   * probe in short circuit the top of its scale), not a temperature.
   */
  #implausible(work: Sensor, ts: number, c: number, now: number): boolean {
    if (plausible(c)) {
      this.#clearOnce(work, FAULT_CRITICAL, 'sensor_fault', 'critical', now);
      return false;
    }
    // A fault after a good value in the same batch: a later good one must clear it again.
    work.open |= FAULT_CRITICAL;
    this.alarms.raise({
      lockerId: work.lockerId,
      sensor: work.sensor,
      kind: 'sensor_fault',
      level: 'critical',
      at: ts,
      details: { reason: 'out_of_range', c: c },
    });
    return true;
  }

  /** The exact same value for hours, while compressors cycle and doors open, is a stuck sensor. */
  #stuck(work: Sensor, ts: number, c: number, prevTs: number, prevC: number, now: number): void {
    if (prevC !== c) {
      this.#clearOnce(work, FAULT_WARNING, 'sensor_fault', 'warning', now);
      return;
    }
    work.open |= FAULT_WARNING;
    const since = Number.isNaN(work.valueSince) ? (Number.isNaN(prevTs) ? ts : prevTs) : work.valueSince;
    if (ts - since >= STUCK_MS) {
      this.alarms.raise({
        lockerId: work.lockerId,
        sensor: work.sensor,
        kind: 'sensor_fault',
        level: 'warning',
        at: ts,
        since,
        details: { reason: 'stuck', c: c },
      });
    }
  }

  /** A breach: the parcels inside are held; their pickup codes no longer open the door. */
  #quarantine(lockerId: string, door: number, at: number, reason: 'critical' | 'cumulative'): void {
    for (const p of this.#parcelsIn.all(lockerId, door)) {
      if (p.state === 'quarantined') continue;
      // Put in after the breach (readings replayed late, after an outage): not its goods.
      if (p.arrived !== null && p.arrived > at) continue;
      // Held again after a release: the record keeps the first breach, the ledger each one.
      this.#states.move(p.id, 'quarantine', {
        actor: 'hub',
        at: this.now(),
        lockerId,
        door,
        data: { reason, at },
        set: p.breached_at === null ? { breached_at: at, breach_reason: reason } : {},
      });
    }
    // Inside at the breach but gone by the time the hub learnt of it (picked up, collected): it
    // cannot be held any more; its record says breached, and an operator is told.
    for (const id of this.#leftSince.all(lockerId, door, at, at)) {
      this.#states.breachedAfterLeaving(id, {
        actor: 'hub',
        at: this.now(),
        lockerId,
        door,
        data: { reason, at },
      });
      amendSealedBreach(this.db, id, { at, reason });
    }
  }

  /**
   * `exposure_limit` alarms end once no parcel held behind their sensor's doors is left (released,
   * discarded, taken out). Part of the hub's periodic work.
   */
  sweepExposure(now = this.now()): void {
    const open = this.db
      .prepare<[], { locker_id: string; sensor: string }>(
        `SELECT locker_id, sensor FROM alarms WHERE kind = 'exposure_limit' AND state <> 'cleared'`,
      )
      .all();
    if (open.length === 0) return;
    const held = this.db.prepare<[string, string], number>(
      `SELECT 1 FROM compartments c JOIN parcels p ON p.id = c.parcel_id
       WHERE c.locker_id = ? AND c.sensor = ? AND p.state = 'quarantined' LIMIT 1`,
    );
    this.db.transaction(() => {
      for (const a of open)
        if (!held.get(a.locker_id, a.sensor))
          this.alarms.clear(a.locker_id, a.sensor, 'exposure_limit', 'critical', now);
    })();
  }

  /**
   * Sensors silent for more than two of their reading intervals (hub clock) get an alarm, counted
   * from the hub's start at the earliest: a hub stopped for a while did not hear the readings
   * sent meanwhile, which says nothing of the sensors (every one of them was alarmed at each
   * restart, before its next reading came).
   */
  sweepSilent(now = this.now()): void {
    // Through the index on silent_at (last_seen + 2 intervals, 30 s at least): a fleet has tens of thousands of
    // sensors, their rows are wide (rule state), and this runs every second.
    const rows = this.db
      .prepare(
        `SELECT locker_id, sensor, last_seen, interval_ms FROM sensor_state
         WHERE interval_ms IS NOT NULL AND silent_at < ? AND ? + max(2 * interval_ms, 30000) < ?`,
      )
      .all(now, this.#since, now) as Array<{
      locker_id: string;
      sensor: string;
      last_seen: number;
      interval_ms: number;
    }>;
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
