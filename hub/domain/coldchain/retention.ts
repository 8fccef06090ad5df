/**
 * Keeps the readings tables bounded: raw readings for `rawDays` (90 by default), 5-minute
 * aggregates for `aggregateDays` (400). Deletes in slices so a big backlog never holds the
 * store for long.
 */
import { saveCursor } from '../../db/cursors.ts';
import type { Db } from '../../db/open.ts';

const DAY = 86_400_000;
const SLICE = 5000;

export interface Retention {
  rawDays: number;
  aggregateDays: number;
}

export const DEFAULT_RETENTION: Retention = Object.freeze({ rawDays: 90, aggregateDays: 400 });

export function pruneReadings(
  db: Db,
  now: number,
  r: Retention = DEFAULT_RETENTION,
): { raw: number; aggregates: number } {
  // Telemetry is stored about in time order, so the oldest are the first rows: no index on ts to
  // keep up at every insert. A late reading with an old timestamp waits for its neighbours.
  const cutoff = now - r.rawDays * DAY;
  const first = db.prepare('SELECT ts FROM telemetry ORDER BY rowid LIMIT 1').pluck().get() as
    | number
    | undefined;
  const raw =
    first !== undefined && first < cutoff
      ? db
          .prepare(
            `DELETE FROM telemetry WHERE rowid IN (SELECT rowid FROM telemetry ORDER BY rowid LIMIT ${SLICE}) AND ts < ?`,
          )
          .run(cutoff).changes
      : 0;
  // What the cold chain can no longer draw from the store (coldchain.ts `settle`).
  if (raw > 0) saveCursor(db, 'readings-pruned-before', cutoff, true);
  const aggregates = db
    .prepare(
      `DELETE FROM readings_5m WHERE (locker_id, sensor, bucket) IN
         (SELECT locker_id, sensor, bucket FROM readings_5m WHERE bucket < ? LIMIT ${SLICE})`,
    )
    .run(now - r.aggregateDays * DAY).changes;
  return { raw, aggregates };
}
