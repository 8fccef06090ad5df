/**
 * Each parcel's temperature record, from deposit to pickup (or now), following the parcel: one
 * stay per compartment it was in (the origin box, its destination, the box it came back to), each
 * with its sensor's readings, and the legs between stays (in a van: not watched). Min, max, mean,
 * mean kinetic temperature, minutes out of range, the alarms it lived through, the time nothing
 * watched it, and a verdict: time without readings is unknown, never in range.
 */
import type { TemperatureRecord } from '../../../devices/api.ts';
import { PRODUCT_CATEGORIES, type ProductCategory, type TemperatureClass } from '../../../devices/index.ts';
import { ledgerEnd } from '../../db/cursors.ts';
import type { Db } from '../../db/open.ts';
import { HubError } from '../../errors.ts';
import { type AlarmRow, alarmView } from './alarms.ts';
import { custodyOf } from './exposure.ts';
import { type ClassRules, DEFAULT_RULES, MAX_STEP_MS, meanKineticTemperature } from './rules.ts';

export type Verdict = TemperatureRecord['verdict'];

const TEMPERATURE_ALARMS: ReadonlySet<string> = new Set(['temperature_high', 'temperature_low']);
const minutes = (ms: number) => Math.round(ms / 6000) / 10;
const round = (x: number | null) => (x === null ? null : Math.round(x * 100) / 100);

type RulesFor = (lockerId: string, cls: TemperatureClass) => ClassRules;
const defaultRules: RulesFor = (_l, cls) => DEFAULT_RULES[cls];

/**
 * The parcel's record: sealed at pickup (kept whatever the raw readings' retention, its series
 * from the 5-minute aggregates once the raw readings are gone), or drawn now from the store.
 */
export function temperatureRecord(
  db: Db,
  parcelId: string,
  now: number,
  rulesFor = defaultRules,
): TemperatureRecord {
  const sealed = db.prepare('SELECT record FROM parcel_records WHERE parcel_id = ?').pluck().get(parcelId) as
    | string
    | undefined;
  if (sealed === undefined) return drawRecord(db, parcelId, now, rulesFor);
  const record = JSON.parse(sealed) as Omit<TemperatureRecord, 'series' | 'seriesStep'>;
  const raw = db.prepare<[string, string, number, number], { ts: number; c: number }>(
    'SELECT ts, c FROM readings WHERE locker_id = ? AND sensor = ? AND ts >= ? AND ts <= ? ORDER BY ts',
  );
  const means = db.prepare<[string, string, number, number], { ts: number; c: number }>(
    'SELECT bucket AS ts, round(sum / n, 2) AS c FROM readings_5m WHERE locker_id = ? AND sensor = ? AND bucket >= ? AND bucket <= ? ORDER BY bucket',
  );
  const watched = record.stays.filter((s) => s.sensor !== null && s.readings > 0);
  const series = (q: typeof raw) =>
    watched.flatMap((s) => q.all(s.lockerId, s.sensor as string, s.from, s.to ?? record.sealedAt ?? now));
  const readings = series(raw);
  // All of them still there, or none: raw readings go oldest first, whole days at a time.
  if (readings.length >= record.readings) return { ...record, seriesStep: 'reading', series: readings };
  return { ...record, seriesStep: '5m', series: series(means) };
}

/**
 * The record without its series: what a summary needs (the customer's page, a pickup's webhook).
 * A sealed record is read as it was sealed, without loading a reading: a page anyone holding a
 * label can load must not cost the hub a month of a cabinet's readings each time.
 */
export function recordSummary(
  db: Db,
  parcelId: string,
  now: number,
  rulesFor = defaultRules,
): Omit<TemperatureRecord, 'series' | 'seriesStep'> {
  const sealed = db.prepare('SELECT record FROM parcel_records WHERE parcel_id = ?').pluck().get(parcelId) as
    | string
    | undefined;
  if (sealed !== undefined) return JSON.parse(sealed) as Omit<TemperatureRecord, 'series' | 'seriesStep'>;
  const { series: _, seriesStep: __, ...record } = drawRecord(db, parcelId, now, rulesFor);
  return record;
}

/**
 * Draws a sealed record again: readings of its stays came after it was sealed (out of their
 * order, judged again: coldchain.ts `#replay`). Nothing to do for a record not sealed yet.
 */
export function resealRecord(db: Db, parcelId: string, now: number, rulesFor: RulesFor = defaultRules): void {
  const sealed = db.prepare('SELECT 1 FROM parcel_records WHERE parcel_id = ?').get(parcelId);
  if (!sealed) return;
  const { series: _, seriesStep: __, ...record } = drawRecord(db, parcelId, now, rulesFor);
  db.prepare('UPDATE parcel_records SET sealed_at = ?, record = ? WHERE parcel_id = ?').run(
    now,
    JSON.stringify({ ...record, sealedAt: now }),
    parcelId,
  );
}

/**
 * A breach learnt after the record was sealed (readings replayed late): the sealed record says so
 * too. Nothing else of it changes (its readings were judged when sealed, the raw ones included).
 */
export function amendSealedBreach(db: Db, parcelId: string, breach: { at: number; reason: string }): void {
  const sealed = db.prepare('SELECT record FROM parcel_records WHERE parcel_id = ?').pluck().get(parcelId) as
    | string
    | undefined;
  if (sealed === undefined) return;
  const record = JSON.parse(sealed) as TemperatureRecord;
  db.prepare('UPDATE parcel_records SET record = ? WHERE parcel_id = ?').run(
    JSON.stringify({ ...record, breach, verdict: 'breached' }),
    parcelId,
  );
}

/**
 * Seals the records of parcels once picked up: what casier can say of their journey is final, and
 * it is kept whatever the raw readings' retention. Periodic work (a hub component); each round
 * looks only at pickups since the latest it sealed (all of them, once, after a start).
 */
/** How long a record waits for the readings of its last stay before it is sealed without them. */
export const SEAL_WAIT_MS = 24 * 3_600_000;

export class RecordSealer {
  readonly name = 'records';
  readonly everyMs = 10_000;
  /**
   * The ledger position up to which pickups were looked at. Not the pickup time: a pickup is
   * stamped when its door closed at the cabinet, and one that reached the hub late (after an
   * outage) carries a time long past.
   */
  #seq = 0;

  constructor(
    private readonly db: Db,
    private readonly rulesFor: RulesFor = defaultRules,
  ) {}

  tick(now: number): void {
    this.seal(now);
  }

  /**
   * Picked up (or taken out) and not sealed yet, with when this run of the hub first saw each
   * (hub clock): a record waits for its readings from then, however late its pickup reached the
   * hub. After a restart every unsealed one is found again (the cursor starts at 0).
   */
  readonly #waiting = new Map<string, number>();

  /**
   * Seals the records of parcels picked up (or taken out) whose readings are in, `limit` new ones
   * a round at most; returns how many. A record waits until each watched stay's sensor has
   * reported past the end of the stay (a cabinet back from an outage sends its buffered readings
   * after its events), for SEAL_WAIT_MS at most (a sensor that never reports again).
   */
  seal(now: number, limit = 200): number {
    const due = this.db
      .prepare<[number], { id: string; seq: number }>(
        `SELECT e.parcel_id AS id, e.seq FROM events e
         WHERE e.seq > ? AND (e.type IN ('parcel.picked_up', 'parcel.retrieved_by_producer')
           -- taken out by an operator (retrieved, discarded goods too), not brought back by a driver
           OR (e.type = 'parcel.returned' AND json_extract(e.data, '$.from') IS NOT NULL))
           AND NOT EXISTS (SELECT 1 FROM parcel_records r WHERE r.parcel_id = e.parcel_id)
         ORDER BY e.seq LIMIT ${limit}`,
      )
      .all(this.#seq);
    // A full round may have left some behind: the next goes on from its last.
    this.#seq = due.length === limit ? (due.at(-1)?.seq ?? this.#seq) : ledgerEnd(this.db);
    for (const { id } of due) if (!this.#waiting.has(id)) this.#waiting.set(id, now);
    const insert = this.db.prepare(
      'INSERT OR IGNORE INTO parcel_records (parcel_id, sealed_at, record) VALUES (?, ?, ?)',
    );
    // The sensor's latest reading as its kept state says (written within about 10 s of it).
    const latest = this.db
      .prepare<[string, string], number | null>(
        `SELECT json_extract(rules, '$.lastTs') FROM sensor_state WHERE locker_id = ? AND sensor = ?`,
      )
      .pluck();
    const sealed: string[] = [];
    this.db.transaction(() => {
      for (const [id, seen] of this.#waiting) {
        const inYet = custodyOf(this.db, id).stays.every(
          (st) => st.sensor === null || st.to === null || (latest.get(st.lockerId, st.sensor) ?? 0) >= st.to,
        );
        if (!inYet && now - seen < SEAL_WAIT_MS) continue;
        const { series: _, seriesStep: __, ...record } = drawRecord(this.db, id, now, this.rulesFor);
        insert.run(id, now, JSON.stringify({ ...record, sealedAt: now }));
        sealed.push(id);
      }
    })();
    for (const id of sealed) this.#waiting.delete(id);
    return sealed.length;
  }
}

function drawRecord(db: Db, parcelId: string, now: number, rulesFor: RulesFor): TemperatureRecord {
  const p = db
    .prepare(
      `SELECT id, state, locker_id, temperature_class, category, out_of_range_ms, breached_at, breach_reason
       FROM parcels WHERE id = ?`,
    )
    .get(parcelId) as
    | {
        id: string;
        state: string;
        locker_id: string;
        temperature_class: TemperatureClass;
        category: ProductCategory | null;
        out_of_range_ms: number;
        breached_at: number | null;
        breach_reason: string | null;
      }
    | undefined;
  if (!p) throw new HubError('HUB_ERR_PARCEL_NOT_FOUND', `no parcel ${parcelId}`);
  const { stays, legs, end } = custodyOf(db, parcelId);
  const readingsOf = db.prepare<[string, string, number, number], { ts: number; c: number }>(
    'SELECT ts, c FROM readings WHERE locker_id = ? AND sensor = ? AND ts >= ? AND ts <= ? ORDER BY ts',
  );
  const alarmsOf = db.prepare<[string, string, number, number], AlarmRow>(
    // An alarm late readings withdrew (judged in their order, they do not give it) is no part of it.
    `SELECT * FROM alarms WHERE locker_id = ? AND sensor = ? AND raised_at <= ? AND (cleared_at IS NULL OR cleared_at >= ?)
       AND json_extract(details, '$.withdrawn') IS NULL ORDER BY raised_at`,
  );
  const series: Array<{ ts: number; c: number }> = [];
  const alarms: AlarmRow[] = [];
  let unknownMs = 0;
  const stayViews = stays.map((st) => {
    const to = st.to ?? now;
    const rs = st.sensor ? readingsOf.all(st.lockerId, st.sensor, st.from, to) : [];
    if (st.sensor) alarms.push(...alarmsOf.all(st.lockerId, st.sensor, to, st.from));
    series.push(...rs);
    // Unwatched: the whole stay without a sensor, else the stretches between readings longer than
    // a reading's reach (5 minutes).
    let unknown = st.sensor ? 0 : to - st.from;
    let last = st.from;
    if (st.sensor)
      for (const r of [...rs, { ts: to }]) {
        unknown += Math.max(0, r.ts - last - MAX_STEP_MS);
        last = r.ts;
      }
    unknownMs += unknown;
    const cs = rs.map((r) => r.c);
    return {
      lockerId: st.lockerId,
      door: st.door,
      sensor: st.sensor,
      from: st.from,
      to: st.to,
      readings: rs.length,
      min: round(cs.length ? Math.min(...cs) : null),
      max: round(cs.length ? Math.max(...cs) : null),
      minutesUnknown: minutes(unknown),
    };
  });
  const legViews = legs.map((l) => {
    const ms = (l.to ?? now) - l.from;
    unknownMs += ms;
    return { from: l.from, to: l.to, minutes: minutes(ms), monitored: false };
  });
  const cs = series.map((r) => r.c);
  const rules = rulesFor(p.locker_id, p.temperature_class);
  const from = stays[0]?.from ?? null;
  const verdict: Verdict =
    p.breached_at !== null
      ? 'breached'
      : p.out_of_range_ms > 0 || alarms.some((a) => TEMPERATURE_ALARMS.has(a.kind))
        ? 'excursion'
        : // A silent or broken probe says nothing of the goods: what it did not see is unknown.
          unknownMs > 0 || stays.length === 0 || alarms.length > 0
          ? 'unknown'
          : 'ok';
  return {
    parcelId: p.id,
    temperatureClass: p.temperature_class,
    // A parcel's own legal limits where it says what it holds, else its class's.
    range: p.category
      ? {
          min: PRODUCT_CATEGORIES[p.category].minC ?? rules.keepMin,
          max: PRODUCT_CATEGORIES[p.category].maxC,
        }
      : { min: rules.keepMin, max: rules.keepMax },
    sensor: stays.at(-1)?.sensor ?? null,
    from,
    to: from === null ? null : (end ?? now),
    readings: series.length,
    min: round(cs.length ? Math.min(...cs) : null),
    max: round(cs.length ? Math.max(...cs) : null),
    mean: round(cs.length ? cs.reduce((s, c) => s + c, 0) / cs.length : null),
    mkt: round(meanKineticTemperature(cs)),
    minutesOutOfRange: minutes(p.out_of_range_ms),
    breach: p.breached_at === null ? null : { at: p.breached_at, reason: p.breach_reason },
    alarms: alarms.map(alarmView),
    minutesUnknown: minutes(unknownMs),
    stays: stayViews,
    legs: legViews,
    verdict,
    sealedAt: null,
    seriesStep: 'reading',
    series,
  };
}

export function recordCsv(record: TemperatureRecord): string {
  const lines = [
    `# parcel ${record.parcelId}, ${record.temperatureClass}, sensor ${record.sensor ?? '-'}`,
    `# min ${record.min ?? '-'} max ${record.max ?? '-'} mean ${record.mean ?? '-'} mkt ${record.mkt ?? '-'} minutes out of range ${record.minutesOutOfRange} minutes unknown ${record.minutesUnknown} verdict ${record.verdict}`,
    ...record.stays.map(
      (s) =>
        `# stay ${s.lockerId} door ${s.door} sensor ${s.sensor ?? '-'} from ${new Date(s.from).toISOString()} to ${s.to === null ? 'now' : new Date(s.to).toISOString()}, ${s.readings} readings, ${s.minutesUnknown} minutes unknown`,
    ),
    ...record.legs.map(
      (l) =>
        `# leg from ${new Date(l.from).toISOString()} to ${l.to === null ? 'now' : new Date(l.to).toISOString()}, ${l.minutes} minutes, not monitored`,
    ),
    'time,celsius',
    ...record.series.map((r) => `${new Date(r.ts).toISOString()},${r.c}`),
  ];
  return `${lines.join('\n')}\n`;
}
