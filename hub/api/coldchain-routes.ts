/** Cold-chain routes: alarms, readings, each parcel's temperature record, quarantine decisions. */
import { z } from 'zod';
import { isId, TEMPERATURE_CLASSES, temperatureClass } from '../../devices/index.ts';
import type { Ledger } from '../db/ledger.ts';
import type { Db } from '../db/open.ts';
import { ALARM_KINDS, type Alarms } from '../domain/coldchain/alarms.ts';
import { recordCsv, temperatureRecord } from '../domain/coldchain/record.ts';
import { classRulesInput, type SiteRules, toInput } from '../domain/coldchain/site-rules.ts';
import { ParcelStates } from '../domain/parcel-states.ts';
import type { Parcels } from '../domain/parcels.ts';
import { HubError } from '../errors.ts';
import { defineRoute, type RouteDef } from './route.ts';

export interface ColdChainDeps {
  db: Db;
  ledger: Ledger;
  alarms: Alarms;
  parcels: Parcels;
  siteRules: SiteRules;
  now: () => number;
  /** Writes what the cold chain keeps back for a cabinet (a few seconds' aggregates) before they are read. */
  persist: (lockerId: string) => void;
}

const lockerId = z.string().refine(isId, 'not a locker id');
const reason = z.object({ reason: z.string().trim().min(3).max(500) }).strict();

export function coldChainRoutes(d: ColdChainDeps): RouteDef[] {
  const states = new ParcelStates(d.db, d.ledger);
  const decide = (id: string, to: 'stored' | 'discarded', why: string, actor: string) =>
    d.db
      .transaction(() => {
        const p = d.parcels.get(id);
        if (p.state !== 'quarantined')
          throw new HubError('HUB_ERR_INVALID_STATE', `parcel ${id} is ${p.state}, not quarantined`);
        // Released: back to where it was; discarded: never collected, its codes stop working.
        states.move(id, to === 'stored' ? 'release' : 'discard', {
          actor,
          at: d.now(),
          data: { reason: why },
        });
        return d.parcels.get(id);
      })
      .immediate();

  return [
    defineRoute({
      method: 'GET',
      url: '/api/v1/sites/:id/rules',
      summary: 'The cold-chain thresholds in force at a site, per temperature class',
      roles: ['operator'],
      params: z.object({ id: lockerId }),
      handler: ({ params }) => {
        if (!d.db.prepare('SELECT 1 FROM sites WHERE id = ?').get(params.id))
          throw new HubError('HUB_ERR_SITE_NOT_FOUND', `no site ${params.id}`);
        return Object.fromEntries(
          TEMPERATURE_CLASSES.map((cls) => [cls, toInput(d.siteRules.forSite(params.id, cls))]),
        );
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/api/v1/sites/:id/rules/:class',
      summary: 'Set the cold-chain thresholds of one temperature class at a site (audited)',
      roles: ['operator'],
      params: z.object({ id: lockerId, class: temperatureClass }),
      body: classRulesInput,
      handler: ({ params, body, principal }) => {
        if (!d.db.prepare('SELECT 1 FROM sites WHERE id = ?').get(params.id))
          throw new HubError('HUB_ERR_SITE_NOT_FOUND', `no site ${params.id}`);
        return toInput(d.siteRules.set(params.id, params.class, body, `token:${principal.id}`, d.now()));
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/alarms',
      summary: 'Alarms, newest first: open ones by default',
      roles: ['operator'],
      query: z.object({
        state: z.enum(['open', 'all']).default('open'),
        siteId: lockerId.optional(),
        lockerId: lockerId.optional(),
        sensor: z.string().max(64).optional(),
        /** Only alarms still open at or raised after this time (ms since the epoch). */
        from: z.coerce.number().int().optional(),
        kind: z.enum(ALARM_KINDS).optional(),
        level: z.enum(['warning', 'critical']).optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      }),
      handler: ({ query }) => ({ alarms: d.alarms.list(query) }),
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/alarms/:id/ack',
      summary: 'Acknowledge an alarm, with a comment',
      roles: ['operator'],
      params: z.object({ id: z.string().max(64) }),
      body: z.object({ comment: z.string().trim().min(1).max(500) }).strict(),
      handler: ({ params, body, principal }) =>
        d.alarms.acknowledge(params.id, principal, body.comment, d.now()),
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/lockers/:id/sensors/:sensor/readings',
      summary: 'A sensor’s readings over a window: raw, or 5-minute min/max/mean',
      roles: ['operator', 'integration'],
      params: z.object({ id: lockerId, sensor: z.string().max(64) }),
      query: z.object({
        from: z.coerce.number().int().optional(),
        to: z.coerce.number().int().optional(),
        resolution: z.enum(['raw', '5m']).default('raw'),
      }),
      handler: ({ params, query }) => {
        const to = query.to ?? d.now();
        const from = query.from ?? to - 86_400_000;
        if (query.resolution === '5m') {
          d.persist(params.id);
          const rows = d.db
            .prepare(
              'SELECT bucket AS ts, min, max, sum / n AS mean, n FROM readings_5m WHERE locker_id = ? AND sensor = ? AND bucket >= ? AND bucket <= ? ORDER BY bucket',
            )
            .all(params.id, params.sensor, from - 300_000, to);
          return { sensor: params.sensor, from, to, resolution: '5m', points: rows };
        }
        const rows = d.db
          .prepare(
            'SELECT ts, c FROM readings WHERE locker_id = ? AND sensor = ? AND ts >= ? AND ts <= ? ORDER BY ts LIMIT 20000',
          )
          .all(params.id, params.sensor, from, to);
        return { sensor: params.sensor, from, to, resolution: 'raw', points: rows };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/lockers/:id/daily-sheet',
      summary:
        'The daily min/max sheet of a cabinet for inspectors: each sensor, the doors it watches, min, max, mean (UTC day), as JSON or CSV',
      roles: ['operator'],
      params: z.object({ id: lockerId }),
      query: z.object({ date: z.iso.date(), format: z.enum(['json', 'csv']).default('json') }),
      handler: ({ params, query, reply }) => {
        const from = Date.parse(`${query.date}T00:00:00Z`);
        d.persist(params.id);
        const rows = d.db
          .prepare(
            `SELECT s.sensor, min(a.min) AS min, max(a.max) AS max, sum(a.sum) / sum(a.n) AS mean, sum(a.n) AS readings,
                    (SELECT group_concat(c.door || ':' || c.temperature_class) FROM compartments c WHERE c.locker_id = s.locker_id AND c.sensor = s.sensor) AS doors,
                    (SELECT count(*) FROM alarms al WHERE al.locker_id = s.locker_id AND al.sensor = s.sensor AND al.raised_at >= ? AND al.raised_at < ?) AS alarms
             FROM sensor_state s LEFT JOIN readings_5m a ON a.locker_id = s.locker_id AND a.sensor = s.sensor AND a.bucket >= ? AND a.bucket < ?
             WHERE s.locker_id = ? GROUP BY s.sensor ORDER BY s.sensor`,
          )
          .all(from, from + 86_400_000, from, from + 86_400_000, params.id) as Array<
          Record<string, number | string | null>
        >;
        const round = (x: unknown) => (typeof x === 'number' ? Math.round(x * 100) / 100 : null);
        const sensors = rows.map((r) => ({
          sensor: r.sensor,
          doors: r.doors,
          min: round(r.min),
          max: round(r.max),
          mean: round(r.mean),
          readings: r.readings ?? 0,
          alarms: r.alarms,
        }));
        if (query.format === 'json') return { lockerId: params.id, date: query.date, sensors };
        reply.header('content-type', 'text/csv; charset=utf-8');
        return `${['sensor,doors,min,max,mean,readings,alarms', ...sensors.map((s) => [s.sensor, `"${s.doors ?? ''}"`, s.min ?? '', s.max ?? '', s.mean ?? '', s.readings, s.alarms].join(','))].join('\n')}\n`;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/parcels/:id/temperature',
      summary: 'The parcel’s temperature record from deposit to pickup, as JSON or CSV (?format=csv)',
      roles: ['operator', 'integration'],
      params: z.object({ id: z.string().max(64) }),
      query: z.object({ format: z.enum(['json', 'csv']).default('json') }),
      handler: ({ params, query, reply }) => {
        const record = temperatureRecord(d.db, params.id, d.now(), (l, cls) => d.siteRules.forLocker(l, cls));
        if (query.format === 'json') return record;
        reply.header('content-type', 'text/csv; charset=utf-8');
        reply.header('content-disposition', `attachment; filename="${params.id}-temperature.csv"`);
        return recordCsv(record);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/parcels/:id/release',
      summary: 'Release a quarantined parcel (its pickup code works again), with a reason',
      roles: ['operator'],
      params: z.object({ id: z.string().max(64) }),
      body: reason,
      handler: ({ params, body, principal }) =>
        decide(params.id, 'stored', body.reason, `token:${principal.id}`),
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/parcels/:id/discard',
      summary: 'Discard a quarantined parcel (never to be collected), with a reason',
      roles: ['operator'],
      params: z.object({ id: z.string().max(64) }),
      body: reason,
      handler: ({ params, body, principal }) =>
        decide(params.id, 'discarded', body.reason, `token:${principal.id}`),
    }),
  ];
}
