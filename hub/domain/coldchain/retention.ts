/**
 * Keeps the readings tables bounded: raw readings for `rawDays` (90 by default), 5-minute
 * aggregates for `aggregateDays` (400). Deletes in slices so a big backlog never holds the
 * store for long.
 */
import type { Db } from '../../db/open.ts';

const DAY = 86_400_000;
const SLICE = 5000;

export interface Retention {
  rawDays: number;
  aggregateDays: number;
}

export const DEFAULT_RETENTION: Retention = { rawDays: 90, aggregateDays: 400 };

export function pruneReadings(
  db: Db,
  now: number,
  r: Retention = DEFAULT_RETENTION,
): { raw: number; aggregates: number } {
  const raw = db
    .prepare(`DELETE FROM readings WHERE rowid IN (SELECT rowid FROM readings WHERE ts < ? LIMIT ${SLICE})`)
    .run(now - r.rawDays * DAY).changes;
  const aggregates = db
    .prepare(
      `DELETE FROM readings_5m WHERE (locker_id, sensor, bucket) IN
         (SELECT locker_id, sensor, bucket FROM readings_5m WHERE bucket < ? LIMIT ${SLICE})`,
    )
    .run(now - r.aggregateDays * DAY).changes;
  return { raw, aggregates };
}
