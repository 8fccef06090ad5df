/**
 * What a parcel lived through, drawn from the store alone: its stays (where its goods were, from
 * the ledger), its time out of its range over them, the instant its cumulative budget ran out,
 * and the first critical breach while it was inside. Pure functions of what is stored, whatever
 * order it reached the hub in: the cold chain's running counts are checked against these whenever
 * a fact arrives out of step with the others (a deposit or pickup the hub heard of after the
 * readings around it, readings that arrive after the parcel left).
 */
import { PRODUCT_CATEGORIES, type ProductCategory, type TemperatureClass } from '../../../devices/index.ts';
import { cached, type Db } from '../../db/open.ts';
import { GOODS_MOVES_SQL, goodsMoved } from '../parcel-states.ts';
import { type ClassRules, MAX_STEP_MS } from './rules.ts';

export interface Stay {
  lockerId: string;
  door: number;
  sensor: string | null;
  from: number;
  to: number | null;
}

export interface Custody {
  stays: Stay[];
  /** Between two stays, in a van. */
  legs: Array<{ from: number; to: number | null }>;
  /** Picked up, or taken out by an operator: the end of casier's custody. */
  end: number | null;
}

/** The parcel's stays and legs, as the ledger has its moves (each at the time its door closed). */
export function custodyOf(db: Db, parcelId: string): Custody {
  const moves = cached(
    db,
    `SELECT ts, type, locker_id AS lockerId, door, data FROM events WHERE parcel_id = ? AND type IN
       ${GOODS_MOVES_SQL}
     ORDER BY seq`,
  ).all(parcelId) as Array<{
    ts: number;
    type: string;
    lockerId: string | null;
    door: number | null;
    data: string;
  }>;
  const sensorOf = cached(db, 'SELECT sensor FROM compartments WHERE locker_id = ? AND door = ?', 'pluck');
  const stays: Stay[] = [];
  const legs: Custody['legs'] = [];
  let end: number | null = null;
  for (const m of moves) {
    const moved = goodsMoved(m.type, JSON.parse(m.data || '{}'));
    const open = stays.at(-1);
    if (moved === 'in' && m.lockerId !== null && m.door !== null) {
      if (open && open.to === null) open.to = m.ts;
      const leg = legs.at(-1);
      if (leg && leg.to === null) leg.to = m.ts;
      stays.push({
        lockerId: m.lockerId,
        door: m.door,
        sensor: (sensorOf.get(m.lockerId, m.door) as string | null | undefined) ?? null,
        from: m.ts,
        to: null,
      });
    } else if (moved === 'out' && open && open.to === null) {
      open.to = m.ts;
      if (m.type === 'parcel.in_transit') legs.push({ from: m.ts, to: null });
      else end = m.ts;
    }
  }
  return { stays, legs, end };
}

/** A parcel's own limits (its product category's), or its class's. */
export function limitsOf(rules: ClassRules, category: string | null): { min: number | null; max: number } {
  const own = category ? PRODUCT_CATEGORIES[category as ProductCategory] : undefined;
  return own ? { min: own.minC ?? rules.keepMin, max: own.maxC } : { min: rules.keepMin, max: rules.keepMax };
}

export interface Exposure {
  /** Time out of the parcel's range over all its stays (ms). */
  ms: number;
  /** When its budget (less what an operator excused) ran out, and where; null: it did not. */
  crossed: { at: number; ms: number; lockerId: string; sensor: string; door: number } | null;
}

type RulesFor = (lockerId: string, cls: TemperatureClass) => ClassRules;

/**
 * Readings of a stay's sensor that can count for it: from the one whose reach (MAX_STEP_MS) may
 * begin the stay, to the first after it. Equal times: the first stored (the others were out of
 * order when they came).
 */
function readingsFor(db: Db, st: Stay): Array<{ ts: number; c: number }> {
  if (!st.sensor) return [];
  const rows = cached(
    db,
    'SELECT ts, c FROM readings WHERE locker_id = ? AND sensor = ? AND ts >= ? AND ts <= ? ORDER BY ts',
  ).all(
    st.lockerId,
    st.sensor,
    st.from - MAX_STEP_MS,
    st.to === null ? Number.MAX_SAFE_INTEGER : st.to + MAX_STEP_MS,
  ) as Array<{ ts: number; c: number }>;
  const out: Array<{ ts: number; c: number }> = [];
  for (const r of rows) if (out.at(-1)?.ts !== r.ts) out.push(r);
  if (st.to !== null && (out.at(-1)?.ts ?? 0) <= st.to) {
    // The last reading in the stay counts once the next one is in, however far after.
    const next = cached(
      db,
      'SELECT ts, c FROM readings WHERE locker_id = ? AND sensor = ? AND ts > ? ORDER BY ts LIMIT 1',
    ).get(st.lockerId, st.sensor, st.to + MAX_STEP_MS) as { ts: number; c: number } | undefined;
    if (next) out.push(next);
  }
  return out;
}

/**
 * Time out of range, as the running count adds it: each reading's value holds until the next
 * reading (at most MAX_STEP_MS: a silence is not an excursion), and counts for the part of that
 * span the parcel was inside. The budget runs out at the instant the count reaches it.
 */
export function exposureOf(
  db: Db,
  parcel: { temperature_class: TemperatureClass; category: string | null; excused_ms: number },
  stays: readonly Stay[],
  rulesFor: RulesFor,
): Exposure {
  let ms = 0;
  let crossed: Exposure['crossed'] = null;
  for (const st of stays) {
    if (!st.sensor) continue;
    const rules = rulesFor(st.lockerId, parcel.temperature_class);
    const { min, max } = limitsOf(rules, parcel.category);
    const rs = readingsFor(db, st);
    for (let i = 1; i < rs.length; i++) {
      const prev = rs[i - 1] as { ts: number; c: number };
      if (!(prev.c > max || (min !== null && prev.c < min))) continue;
      const cur = rs[i] as { ts: number; c: number };
      const end = prev.ts + Math.min(MAX_STEP_MS, cur.ts - prev.ts);
      const credit = Math.max(0, Math.min(end, st.to ?? end) - Math.max(prev.ts, st.from));
      if (credit === 0) continue;
      ms += credit;
      const budget = rules.cumulativeMs;
      if (crossed === null && budget !== null && ms - parcel.excused_ms >= budget)
        crossed = {
          at: Math.min(end, st.to ?? end) - (ms - parcel.excused_ms - budget),
          ms,
          lockerId: st.lockerId,
          sensor: st.sensor,
          door: st.door,
        };
    }
  }
  return { ms, crossed };
}

/**
 * The first critical breach while the parcel was inside: a reading of a stay's sensor at which a
 * critical temperature alarm rose, or, the alarm still open, one above the critical limit (what
 * came into a compartment in critical alarm is held as long as it stays warm). Null: none.
 */
export function firstBreach(
  db: Db,
  parcel: { temperature_class: TemperatureClass },
  stays: readonly Stay[],
  rulesFor: RulesFor,
): number | null {
  for (const st of stays) {
    if (!st.sensor) continue;
    const to = st.to ?? Number.MAX_SAFE_INTEGER;
    const critical = rulesFor(st.lockerId, parcel.temperature_class).critical;
    const alarms = cached(
      db,
      `SELECT kind, raised_at, cleared_at FROM alarms WHERE locker_id = ? AND sensor = ? AND level = 'critical'
         AND kind IN ('temperature_high', 'temperature_low') AND raised_at < ? AND (cleared_at IS NULL OR cleared_at > ?)
         AND json_extract(details, '$.withdrawn') IS NULL
       ORDER BY raised_at`,
    ).all(st.lockerId, st.sensor, to, st.from) as Array<{
      kind: string;
      raised_at: number;
      cleared_at: number | null;
    }>;
    let first: number | null = null;
    for (const a of alarms) {
      if (a.raised_at >= st.from) {
        first = Math.min(first ?? a.raised_at, a.raised_at);
        continue;
      }
      if (a.kind !== 'temperature_high' || !critical) continue;
      const warm = cached(
        db,
        'SELECT min(ts) FROM readings WHERE locker_id = ? AND sensor = ? AND ts >= ? AND ts < ? AND c > ?',
        'pluck',
      ).get(st.lockerId, st.sensor, st.from, Math.min(to, a.cleared_at ?? to), critical.above) as
        | number
        | null;
      if (warm !== null) first = Math.min(first ?? warm, warm);
    }
    if (first !== null) return first;
  }
  return null;
}
