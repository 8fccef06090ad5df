/**
 * What a cabinet's sensors read, for operators and inspectors: a sensor's readings over a window
 * (raw, or 5-minute min/max/mean), and the daily min/max sheet of a cabinet.
 */
import { dayAt, dayStart } from '../../../devices/index.ts';
import type { Db } from '../../db/open.ts';

const DAY = 86_400_000;
const FIVE_MINUTES = 300_000;

export function sensorReadings(
  db: Db,
  q: { lockerId: string; sensor: string; from: number; to: number; resolution: 'raw' | '5m' },
) {
  const { sensor, from, to } = q;
  if (q.resolution === '5m') {
    const points = db
      .prepare(
        'SELECT bucket AS ts, min, max, sum / n AS mean, n FROM readings_5m WHERE locker_id = ? AND sensor = ? AND bucket >= ? AND bucket <= ? ORDER BY bucket',
      )
      .all(q.lockerId, sensor, from - FIVE_MINUTES, to) as Array<{
      ts: number;
      min: number;
      max: number;
      mean: number;
      n: number;
    }>;
    return { sensor, from, to, resolution: '5m' as const, points };
  }
  const points = db
    .prepare(
      'SELECT ts, c FROM readings WHERE locker_id = ? AND sensor = ? AND ts >= ? AND ts <= ? ORDER BY ts LIMIT 20000',
    )
    .all(q.lockerId, sensor, from, to) as Array<{ ts: number; c: number }>;
  return { sensor, from, to, resolution: 'raw' as const, points };
}

/**
 * Each sensor of a cabinet on one day (`YYYY-MM-DD`) at its site, midnight to midnight in the
 * site's time zone (an inspector in Lyon reads a Lyon day, 23 or 25 hours when the clocks
 * change): the doors it watches, min, max, mean. Drawn from the 5-minute aggregates, whose
 * buckets every zone's midnight falls on.
 */
export function dailySheet(db: Db, lockerId: string, date: string, timeZone = 'UTC') {
  const from = dayStart(date, timeZone);
  const to = dayStart(new Date(Date.parse(`${date}T00:00:00Z`) + DAY).toISOString().slice(0, 10), timeZone);
  const rows = db
    .prepare(
      `SELECT s.sensor, min(a.min) AS min, max(a.max) AS max, sum(a.sum) / sum(a.n) AS mean, sum(a.n) AS readings,
              (SELECT group_concat(c.door || ':' || c.temperature_class) FROM compartments c WHERE c.locker_id = s.locker_id AND c.sensor = s.sensor) AS doors,
              (SELECT count(*) FROM alarms al WHERE al.locker_id = s.locker_id AND al.sensor = s.sensor AND al.raised_at >= ? AND al.raised_at < ?) AS alarms,
              k.offset_c, k.calibrated_at, k.reference
       FROM sensor_state s LEFT JOIN sensor_calibrations k ON k.locker_id = s.locker_id AND k.sensor = s.sensor
       LEFT JOIN readings_5m a ON a.locker_id = s.locker_id AND a.sensor = s.sensor AND a.bucket >= ? AND a.bucket < ?
       WHERE s.locker_id = ? GROUP BY s.sensor ORDER BY s.sensor`,
    )
    .all(from, to, from, to, lockerId) as Array<{
    sensor: string;
    doors: string | null;
    min: number | null;
    max: number | null;
    mean: number | null;
    readings: number | null;
    alarms: number;
    offset_c: number | null;
    calibrated_at: number | null;
    reference: string | null;
  }>;
  const round = (x: number | null) => (typeof x === 'number' ? Math.round(x * 100) / 100 : null);
  const sensors = rows.map((r) => ({
    sensor: r.sensor,
    doors: r.doors,
    calibration:
      r.offset_c === null || r.calibrated_at === null
        ? null
        : { offsetC: r.offset_c, calibratedAt: r.calibrated_at, reference: r.reference },
    min: round(r.min),
    max: round(r.max),
    mean: round(r.mean),
    readings: r.readings ?? 0,
    alarms: r.alarms,
  }));
  return { lockerId, date, timeZone, from, to, sensors };
}

export function dailySheetCsv(sheet: ReturnType<typeof dailySheet>): string {
  const lines = sheet.sensors.map((s) =>
    [
      s.sensor,
      `"${s.doors ?? ''}"`,
      s.min ?? '',
      s.max ?? '',
      s.mean ?? '',
      s.readings,
      s.alarms,
      s.calibration?.offsetC ?? '',
      s.calibration ? dayAt(s.calibration.calibratedAt, sheet.timeZone) : '',
    ].join(','),
  );
  return `${['sensor,doors,min,max,mean,readings,alarms,calibration_offset,calibrated_on', ...lines].join('\n')}\n`;
}
