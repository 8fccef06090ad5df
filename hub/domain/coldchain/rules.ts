/**
 * Cold-chain rules (SPEC §5), pure: a function of the previous state, one reading and the
 * thresholds of the compartment's class. They run on the readings' own timestamps (event time),
 * so a backlog replayed after an outage raises the same alarms at the same instants as live
 * readings would have.
 *
 * Each level counts the time spent above its threshold in an episode, and raises once that time
 * outlasts its delay: a door opening is harmless, and a good reading between two warm ones does
 * not start the count again (a freezer cycling −19 ↔ −11 °C is warm most of the time though it
 * dips below the limit every cycle). An episode ends, and a raised alarm clears, only once the
 * temperature has stayed back under the threshold (less the hysteresis, once raised) for as long
 * as the delay.
 */
import type { TemperatureClass } from '../../../devices/index.ts';

const MIN = 60_000;

export interface Threshold {
  /** Raised once the temperature has stayed above `above` for longer than `forMs`. */
  above: number;
  forMs: number;
}

export interface ClassRules {
  keepMin: number | null;
  keepMax: number;
  warn: Threshold;
  critical: Threshold | null;
  /** Critical too once a parcel has spent this long out of its range in total. */
  cumulativeMs: number | null;
}

/** The longest gap between two readings counted as one stretch at the earlier value. */
export const MAX_STEP_MS = 5 * MIN;

export const DEFAULT_RULES: Record<TemperatureClass, ClassRules> = {
  chilled: {
    keepMin: 0,
    keepMax: 4,
    warn: { above: 4, forMs: 20 * MIN },
    critical: { above: 8, forMs: 10 * MIN },
    cumulativeMs: 60 * MIN,
  },
  // −18 °C, with brief rises to −15 °C tolerated (Arrêté du 21 décembre 2009, annexe I): a
  // parcel above −18 °C for two hours in all was not frozen goods kept as the rule asks.
  frozen: {
    keepMin: null,
    keepMax: -18,
    warn: { above: -18, forMs: 30 * MIN },
    critical: { above: -15, forMs: 10 * MIN },
    cumulativeMs: 120 * MIN,
  },
  ambient: {
    keepMin: null,
    keepMax: 25,
    warn: { above: 25, forMs: 60 * MIN },
    critical: null,
    cumulativeMs: 8 * 60 * MIN,
  },
};

/** A raised alarm clears only once the temperature is this far back under its threshold. */
export const HYSTERESIS_C = 0.5;

export type Level = 'warning' | 'critical';

export interface LevelState {
  /** Event time the episode began (its first reading above the threshold); null: none under way. */
  since: number | null;
  raised: boolean;
  /**
   * Time above the threshold in this episode before the current stretch above it (ms), the dips
   * under it not counted. With `stretchSince`, the level changes only where the temperature
   * crosses its threshold, so a sensor's state need not be written at every reading.
   */
  countedMs?: number;
  /** Since when the temperature has been above the threshold without a break; null: it is not. */
  stretchSince?: number | null;
  /** Since when it has stayed back under the threshold without a break; null: it has not. */
  belowSince?: number | null;
  /** When it was raised (event time); absent in a state written before it was kept. */
  raisedAt?: number;
}

/** The levels under the range (goods freezing), kept apart: most classes have none. */
export interface LowLevels {
  warning: LevelState;
  critical: LevelState;
}

export interface SensorRuleState {
  warning: LevelState;
  critical: LevelState;
  /** Under the range: absent in a state written before it was watched. */
  low?: LowLevels;
  lastTs: number | null;
  lastC: number | null;
  /** Event time since which the reading has not changed at all (stuck-sensor detection). */
  valueSince?: number | null;
}

export const initialState = (): SensorRuleState => ({
  warning: { since: null, raised: false },
  critical: { since: null, raised: false },
  lastTs: null,
  lastC: null,
});

export interface Change {
  level: Level;
  /** Above the range, or under it. */
  side: 'high' | 'low';
  change: 'raise' | 'clear';
  /** Event time at which it happened: for a raise, when the delay ran out. */
  at: number;
  /** Event time since which the temperature has been above the threshold. */
  since: number;
}

/** A level below its threshold: shared, never mutated (a state's levels are replaced, not changed). */
const BELOW: LevelState = Object.freeze({ since: null, raised: false });
export const LOW_NORMAL: LowLevels = Object.freeze({ warning: BELOW, critical: BELOW });

/** How far under the bottom of its range a compartment goes critical (°C), and after how long. */
export const LOW_CRITICAL_MARGIN_C = 2;
export const LOW_CRITICAL_MS = 30 * MIN;

/**
 * The thresholds under a class's range, from its `keepMin` (chilled goods freezing: a compressor
 * stuck on): a warning under `keepMin` after the warning's delay, critical 2 °C further down after
 * 30 min. Written as thresholds "above" on negated temperatures, so one function runs both sides.
 */
const lowCache = new WeakMap<ClassRules, { warn: Threshold; critical: Threshold } | null>();
function lowThresholds(rules: ClassRules): { warn: Threshold; critical: Threshold } | null {
  let low = lowCache.get(rules);
  if (low === undefined) {
    low =
      rules.keepMin === null
        ? null
        : {
            warn: { above: -rules.keepMin, forMs: rules.warn.forMs },
            critical: { above: -(rules.keepMin - LOW_CRITICAL_MARGIN_C), forMs: LOW_CRITICAL_MS },
          };
    lowCache.set(rules, low);
  }
  return low;
}

/** Feeds one reading (event time `ts`, °C `c`); readings older than the last one are ignored by the caller. */
export function step(
  prev: SensorRuleState,
  ts: number,
  c: number,
  rules: ClassRules,
): { state: SensorRuleState; changes: Change[] } {
  const changes: Change[] = [];
  const { lastTs } = prev;
  let low = prev.low ?? LOW_NORMAL;
  const lowTh = lowThresholds(rules);
  if (lowTh) {
    const warning = level('warning', 'low', low.warning, lowTh.warn, lastTs, ts, -c, changes);
    const critical = level('critical', 'low', low.critical, lowTh.critical, lastTs, ts, -c, changes);
    if (warning !== low.warning || critical !== low.critical) low = { warning, critical };
  }
  const state: SensorRuleState = {
    warning: level('warning', 'high', prev.warning, rules.warn, lastTs, ts, c, changes),
    critical: level('critical', 'high', prev.critical, rules.critical, lastTs, ts, c, changes),
    low,
    lastTs: ts,
    lastC: c,
    valueSince: prev.valueSince,
  };
  return { state, changes };
}

/** One level's next state; the previous object itself when nothing changed. */
function level(
  name: Level,
  side: 'high' | 'low',
  prev: LevelState,
  th: Threshold | null,
  previousTs: number | null,
  ts: number,
  c: number,
  changes: Change[],
): LevelState {
  if (!th || (prev.since === null && c <= th.above)) return prev;
  const lastTs = previousTs ?? ts;
  const since = prev.since ?? ts;
  let counted = prev.countedMs ?? 0;
  // (A state written before episodes were counted: above the threshold since `since`, throughout.)
  let stretch = prev.countedMs === undefined ? prev.since : (prev.stretchSince ?? null);
  let belowSince = prev.belowSince ?? null;
  if (c > th.above) {
    if (stretch === null) stretch = ts;
    else if (ts - lastTs > MAX_STEP_MS) {
      // A long silence counts as MAX_STEP_MS at the previous value, as the parcels' exposure does.
      counted += lastTs - stretch + MAX_STEP_MS;
      stretch = ts;
    }
    belowSince = null;
  } else {
    if (stretch !== null) {
      // The stretch ends: the time up to this reading counts at the previous (warm) value.
      counted += lastTs - stretch + Math.min(ts - lastTs, MAX_STEP_MS);
      stretch = null;
    }
    // Back under the threshold; once raised, under it less the hysteresis (no flapping on its edge).
    const back = c <= (prev.raised ? th.above - HYSTERESIS_C : th.above);
    belowSince = back ? (belowSince ?? ts) : null;
    if (belowSince !== null && ts - belowSince >= th.forMs) {
      if (prev.raised) changes.push({ level: name, side, change: 'clear', at: ts, since });
      return BELOW;
    }
  }
  let raised = prev.raised;
  let raisedAt = prev.raisedAt;
  const aboveMs = counted + (stretch === null ? 0 : ts - stretch);
  if (!raised && c > th.above && aboveMs > th.forMs) {
    changes.push({ level: name, side, change: 'raise', at: ts, since });
    raised = true;
    raisedAt = ts;
  }
  if (
    since === prev.since &&
    raised === prev.raised &&
    counted === prev.countedMs &&
    stretch === prev.stretchSince &&
    belowSince === prev.belowSince
  )
    return prev;
  const next: LevelState = { since, raised, countedMs: counted, stretchSince: stretch, belowSince };
  if (raisedAt !== undefined) next.raisedAt = raisedAt;
  return next;
}

/**
 * Mean kinetic temperature (°C) of readings taken at regular intervals:
 * MKT = (ΔH/R) / −ln( Σ e^(−ΔH/(R·Tᵢ)) / n ) with Tᵢ in kelvin and ΔH/R = 10,000 K
 * (ΔH = 83.144 kJ/mol, the usual value for perishable goods).
 */
export function meanKineticTemperature(celsius: readonly number[]): number | null {
  if (celsius.length === 0) return null;
  const k = 10_000;
  const sum = celsius.reduce((s, c) => s + Math.exp(-k / (c + 273.15)), 0);
  return k / -Math.log(sum / celsius.length) - 273.15;
}

/** A loss predicted further ahead than this is no advice: the compartment is not warming. */
export const COLLECT_BEFORE_HORIZON_MS = 24 * 60 * MIN;

/**
 * When cooling fails, when will the goods be lost? Fits a line through recent readings and
 * returns the event time at which the critical threshold will have been exceeded for its whole
 * delay: the moment to collect before. Null when the temperature is not rising.
 */
export function collectBefore(
  recent: ReadonlyArray<{ ts: number; c: number }>,
  rules: ClassRules,
  /** The critical level's state: time already counted above its limit shortens what is left. */
  critical?: LevelState,
): number | null {
  if (!rules.critical || recent.length < 3) return null;
  const last = recent[recent.length - 1] as { ts: number; c: number };
  if (last.c > rules.critical.above && critical?.since !== null && critical !== undefined) {
    // Already above: the delay runs out once its time above is counted in full.
    const counted =
      (critical.countedMs ?? 0) + (critical.stretchSince != null ? last.ts - critical.stretchSince : 0);
    return Math.round(last.ts + Math.max(0, rules.critical.forMs - counted));
  }
  const n = recent.length;
  const mt = recent.reduce((s, r) => s + r.ts, 0) / n;
  const mc = recent.reduce((s, r) => s + r.c, 0) / n;
  const cov = recent.reduce((s, r) => s + (r.ts - mt) * (r.c - mc), 0);
  const v = recent.reduce((s, r) => s + (r.ts - mt) ** 2, 0);
  if (v === 0 || cov <= 0) return null;
  const slope = cov / v; // °C per ms
  const reach = last.c >= rules.critical.above ? last.ts : last.ts + (rules.critical.above - last.c) / slope;
  // A flat series leaves a slope a hair above zero in floating point (its mean is not exactly its
  // value), "reaching" the limit past any date there is.
  if (!(reach - last.ts <= COLLECT_BEFORE_HORIZON_MS)) return null;
  return Math.round(reach + rules.critical.forMs);
}
