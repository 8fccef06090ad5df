/**
 * Which compartment a parcel gets: the smallest free one of its temperature class that fits
 * (S < M < L), at one locker, or anywhere at a site. One query for every place that allocates:
 * creation at the origin, delivery at the destination, the alternative offered when it is full.
 * A compartment whose sensor has an alarm open (too warm, silent, faulty or stuck), or reads
 * outside its class's range now (the site's own range where it set one), gets nothing: goods must
 * not go where they cannot be kept, or kept watch on.
 */
import {
  PRODUCT_CATEGORIES,
  type ProductCategory,
  SIZES,
  type Size,
  type TemperatureClass,
} from '../../devices/index.ts';
import { cached, type Db } from '../db/open.ts';
import { DEFAULT_RULES } from './coldchain/rules.ts';

export type Scope = { lockerId: string } | { siteId: string; exceptLocker?: string };

/** SQL: a class's default limit (keepMin or keepMax) for compartment `c`; NULL for none. */
function classLimit(which: 'keepMin' | 'keepMax'): string {
  const cases = Object.entries(DEFAULT_RULES)
    .map(([cls, r]) => `WHEN '${cls}' THEN ${r[which] ?? 'NULL'}`)
    .join(' ');
  return `(CASE c.temperature_class ${cases} END)`;
}

export function freeCompartment(
  db: Db,
  scope: Scope,
  temperatureClass: TemperatureClass | string,
  size: Size | string,
  /** What the parcel holds: only a compartment whose last reading is within its limits will do. */
  category?: ProductCategory | string | null,
): { locker_id: string; door: number; size: string } | undefined {
  const limits = category ? PRODUCT_CATEGORIES[category as ProductCategory] : undefined;
  const fitting = SIZES.slice(Math.max(0, SIZES.indexOf(size as Size)));
  const where =
    'lockerId' in scope
      ? 'c.locker_id = ?'
      : `l.site_id = ?${scope.exceptLocker ? ' AND c.locker_id <> ?' : ''}`;
  const args =
    'lockerId' in scope
      ? [scope.lockerId]
      : [scope.siteId, ...(scope.exceptLocker ? [scope.exceptLocker] : [])];
  // A handful of shapes (scope × sizes that fit): each prepared once.
  return cached(
    db,
    `SELECT c.locker_id, c.door, c.size FROM compartments c JOIN lockers l ON l.id = c.locker_id
       LEFT JOIN site_rules r ON r.site_id = l.site_id AND r.temperature_class = c.temperature_class
       WHERE ${where} AND c.temperature_class = ? AND c.parcel_id IS NULL AND c.pending_action IS NULL
         AND c.size IN (${fitting.map(() => '?').join(', ')})
         AND NOT EXISTS (SELECT 1 FROM alarms a WHERE a.locker_id = c.locker_id AND a.sensor = c.sensor
           AND a.state <> 'cleared' AND a.kind IN ('temperature_high', 'temperature_low', 'sensor_silent', 'sensor_fault'))
         -- Reading outside its class's range now, alarm or not yet (the delay runs): not for new goods.
         AND coalesce((SELECT json_extract(s.rules, '$.lastC') FROM sensor_state s WHERE s.locker_id = c.locker_id AND s.sensor = c.sensor)
               BETWEEN coalesce(json_extract(r.rules, '$.keepMin'), ${classLimit('keepMin')}, -1000)
                   AND coalesce(json_extract(r.rules, '$.keepMax'), ${classLimit('keepMax')}), 1)
         ${
           limits
             ? // A compartment never heard from cannot promise anything.
               `AND (SELECT json_extract(s.rules, '$.lastC') FROM sensor_state s WHERE s.locker_id = c.locker_id AND s.sensor = c.sensor)
                  BETWEEN ${limits.minC ?? -1000} AND ${limits.maxC}`
             : ''
         }
       ORDER BY CASE c.size WHEN 'S' THEN 0 WHEN 'M' THEN 1 ELSE 2 END, c.locker_id, c.door LIMIT 1`,
  ).get(...args, temperatureClass, ...fitting) as
    | { locker_id: string; door: number; size: string }
    | undefined;
}
