/**
 * Each parcel's temperature record, from deposit to pickup (or now): the readings of the sensor
 * watching its compartment, min, max, mean, mean kinetic temperature, minutes out of range, the
 * alarms it lived through, and a verdict.
 */
import type { TemperatureClass } from '../../../devices/index.ts';
import type { Db } from '../../db/open.ts';
import { HubError } from '../../errors.ts';
import { type AlarmRow, alarmView } from './alarms.ts';
import { type ClassRules, DEFAULT_RULES, meanKineticTemperature } from './rules.ts';

export type Verdict = 'ok' | 'excursion' | 'breached';

export function temperatureRecord(
  db: Db,
  parcelId: string,
  now: number,
  rulesFor: (lockerId: string, cls: TemperatureClass) => ClassRules = (_l, cls) => DEFAULT_RULES[cls],
) {
  const p = db
    .prepare(
      `SELECT p.id, p.state, p.locker_id, p.door, p.temperature_class, p.stored_at, p.picked_up_at, p.out_of_range_ms,
              p.breached_at, p.breach_reason, c.sensor
       FROM parcels p JOIN compartments c ON c.locker_id = p.locker_id AND c.door = p.door WHERE p.id = ?`,
    )
    .get(parcelId) as
    | {
        id: string;
        state: string;
        locker_id: string;
        door: number;
        temperature_class: TemperatureClass;
        stored_at: number | null;
        picked_up_at: number | null;
        out_of_range_ms: number;
        breached_at: number | null;
        breach_reason: string | null;
        sensor: string | null;
      }
    | undefined;
  if (!p) throw new HubError('HUB_ERR_PARCEL_NOT_FOUND', `no parcel ${parcelId}`);
  const from = p.stored_at;
  const to = p.picked_up_at ?? now;
  const readings =
    from === null || !p.sensor
      ? []
      : (db
          .prepare(
            'SELECT ts, c FROM readings WHERE locker_id = ? AND sensor = ? AND ts >= ? AND ts <= ? ORDER BY ts',
          )
          .all(p.locker_id, p.sensor, from, to) as Array<{ ts: number; c: number }>);
  const cs = readings.map((r) => r.c);
  const alarms =
    from === null || !p.sensor
      ? []
      : (db
          .prepare(
            `SELECT * FROM alarms WHERE locker_id = ? AND sensor = ? AND raised_at <= ? AND (cleared_at IS NULL OR cleared_at >= ?) ORDER BY raised_at`,
          )
          .all(p.locker_id, p.sensor, to, from) as AlarmRow[]);
  const rules = rulesFor(p.locker_id, p.temperature_class);
  const verdict: Verdict =
    p.breached_at !== null ? 'breached' : p.out_of_range_ms > 0 || alarms.length > 0 ? 'excursion' : 'ok';
  const round = (x: number | null) => (x === null ? null : Math.round(x * 100) / 100);
  return {
    parcelId: p.id,
    temperatureClass: p.temperature_class,
    range: { min: rules.keepMin, max: rules.keepMax },
    sensor: p.sensor,
    from,
    to: from === null ? null : to,
    readings: readings.length,
    min: round(cs.length ? Math.min(...cs) : null),
    max: round(cs.length ? Math.max(...cs) : null),
    mean: round(cs.length ? cs.reduce((s, c) => s + c, 0) / cs.length : null),
    mkt: round(meanKineticTemperature(cs)),
    minutesOutOfRange: Math.round(p.out_of_range_ms / 6000) / 10,
    breach: p.breached_at === null ? null : { at: p.breached_at, reason: p.breach_reason },
    alarms: alarms.map(alarmView),
    verdict,
    series: readings,
  };
}

export function recordCsv(record: ReturnType<typeof temperatureRecord>): string {
  const lines = [
    `# parcel ${record.parcelId}, ${record.temperatureClass}, sensor ${record.sensor ?? '-'}`,
    `# min ${record.min ?? '-'} max ${record.max ?? '-'} mean ${record.mean ?? '-'} mkt ${record.mkt ?? '-'} minutes out of range ${record.minutesOutOfRange} verdict ${record.verdict}`,
    'time,celsius',
    ...record.series.map((r) => `${new Date(r.ts).toISOString()},${r.c}`),
  ];
  return `${lines.join('\n')}\n`;
}
