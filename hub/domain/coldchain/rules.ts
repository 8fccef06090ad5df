/**
 * Cold-chain rules (SPEC §5), pure: a function of the previous state, one reading and the
 * thresholds of the compartment's class. They run on the readings' own timestamps (event time),
 * so a backlog replayed after an outage raises the same alarms at the same instants as live
 * readings would have. Delays make a door opening harmless; hysteresis stops flapping.
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
  /** Critical too once a parcel has spent this long above keepMax in total (chilled). */
  cumulativeMs: number | null;
}

export const DEFAULT_RULES: Record<TemperatureClass, ClassRules> = {
  chilled: {
    keepMin: 0,
    keepMax: 4,
    warn: { above: 4, forMs: 20 * MIN },
    critical: { above: 8, forMs: 10 * MIN },
    cumulativeMs: 60 * MIN,
  },
  frozen: {
    keepMin: null,
    keepMax: -18,
    warn: { above: -18, forMs: 30 * MIN },
    critical: { above: -15, forMs: 10 * MIN },
    cumulativeMs: null,
  },
  ambient: {
    keepMin: null,
    keepMax: 25,
    warn: { above: 25, forMs: 60 * MIN },
    critical: null,
    cumulativeMs: null,
  },
};

/** A raised alarm clears only once the temperature is this far back under its threshold. */
export const HYSTERESIS_C = 0.5;

export type Level = 'warning' | 'critical';

export interface LevelState {
  /** Event time since which the temperature has been above the threshold; null when below. */
  since: number | null;
  raised: boolean;
}

export interface SensorRuleState {
  warning: LevelState;
  critical: LevelState;
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
  change: 'raise' | 'clear';
  /** Event time at which it happened: for a raise, when the delay ran out. */
  at: number;
  /** Event time since which the temperature has been above the threshold. */
  since: number;
}

/** A level below its threshold: shared, never mutated (a state's levels are replaced, not changed). */
const BELOW: LevelState = Object.freeze({ since: null, raised: false });

/** Feeds one reading (event time `ts`, °C `c`); readings older than the last one are ignored by the caller. */
export function step(
  prev: SensorRuleState,
  ts: number,
  c: number,
  rules: ClassRules,
): { state: SensorRuleState; changes: Change[] } {
  const changes: Change[] = [];
  const state: SensorRuleState = {
    warning: level('warning', prev.warning, rules.warn, ts, c, changes),
    critical: level('critical', prev.critical, rules.critical, ts, c, changes),
    lastTs: ts,
    lastC: c,
    valueSince: prev.valueSince,
  };
  return { state, changes };
}

/** One level's next state; the previous object itself when nothing changed. */
function level(
  name: Level,
  prev: LevelState,
  th: Threshold | null,
  ts: number,
  c: number,
  changes: Change[],
): LevelState {
  if (!th) return prev;
  if (c > th.above) {
    const since = prev.since ?? ts;
    if (!prev.raised && ts - since > th.forMs) {
      changes.push({ level: name, change: 'raise', at: ts, since });
      return { since, raised: true };
    }
    return since === prev.since ? prev : { since, raised: prev.raised };
  }
  // Below the threshold but inside the hysteresis band, a raised alarm holds its `since`.
  if (!prev.raised) return prev.since === null ? prev : BELOW;
  if (c > th.above - HYSTERESIS_C) return prev;
  changes.push({ level: name, change: 'clear', at: ts, since: prev.since ?? ts });
  return BELOW;
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

/**
 * When cooling fails, when will the goods be lost? Fits a line through recent readings and
 * returns the event time at which the critical threshold will have been exceeded for its whole
 * delay: the moment to collect before. Null when the temperature is not rising.
 */
export function collectBefore(
  recent: ReadonlyArray<{ ts: number; c: number }>,
  rules: ClassRules,
): number | null {
  if (!rules.critical || recent.length < 3) return null;
  const n = recent.length;
  const mt = recent.reduce((s, r) => s + r.ts, 0) / n;
  const mc = recent.reduce((s, r) => s + r.c, 0) / n;
  const cov = recent.reduce((s, r) => s + (r.ts - mt) * (r.c - mc), 0);
  const v = recent.reduce((s, r) => s + (r.ts - mt) ** 2, 0);
  if (v === 0 || cov <= 0) return null;
  const slope = cov / v; // °C per ms
  const last = recent[n - 1] as { ts: number; c: number };
  const reach = last.c >= rules.critical.above ? last.ts : last.ts + (rules.critical.above - last.c) / slope;
  return Math.round(reach + rules.critical.forMs);
}
