/** Cold-chain routes: alarms, readings, each parcel's temperature record, quarantine decisions. */
import { z } from 'zod';
import * as api from '../../devices/api.ts';
import { isId, temperatureClass } from '../../devices/index.ts';
import type { Db } from '../db/open.ts';
import type { Access } from '../domain/access.ts';
import { ALARM_KINDS, type Alarms } from '../domain/coldchain/alarms.ts';
import { dailySheet, dailySheetCsv, sensorReadings } from '../domain/coldchain/history.ts';
import { recordCsv, temperatureRecord } from '../domain/coldchain/record.ts';
import { classRulesInput, type SiteRules, toInput } from '../domain/coldchain/site-rules.ts';
import type { ParcelLifecycle } from '../domain/lifecycle.ts';
import type { AlarmMail } from '../domain/notify/mail.ts';
import type { Parcels } from '../domain/parcels.ts';
import { HubError } from '../errors.ts';
import { Csv, defineRoute, type RouteDef } from './route.ts';

export interface ColdChainDeps {
  db: Db;
  access: Access;
  alarms: Alarms;
  parcels: Parcels;
  lifecycle: ParcelLifecycle;
  siteRules: SiteRules;
  now: () => number;
  /** The time zone of a cabinet's site (its own, or the hub's). */
  timeZoneOf: (lockerId: string) => string;
  /** Writes what the cold chain keeps back for a cabinet (a few seconds' aggregates) before they are read. */
  persist: (lockerId: string) => void;
  /** Alarm e-mails: each site's contacts and their delays. */
  mail: AlarmMail;
  /** Records a sensor's calibration (offset added to its readings from now on), audited. */
  calibrate: (
    lockerId: string,
    sensor: string,
    c: { offsetC: number; reference: string | null },
    actor: string,
  ) => { offsetC: number; calibratedAt: number; reference: string | null };
}

const lockerId = z.string().refine(isId, 'not a locker id');
const reason = z.object({ reason: z.string().trim().min(3).max(500) }).strict();

export function coldChainRoutes(d: ColdChainDeps): RouteDef[] {
  const decide = (id: string, decision: 'release' | 'discard', why: string, actor: string) => {
    d.lifecycle.decideQuarantine(id, decision, why, actor, d.now());
    return d.parcels.get(id);
  };

  return [
    defineRoute({
      method: 'GET',
      url: '/api/v1/sites/:id/rules',
      summary: 'The cold-chain thresholds in force at a site, per temperature class',
      roles: ['operator'],
      scoped: true,
      params: z.object({ id: lockerId }),
      response: { 200: api.siteRules },
      handler: ({ params, principal }) => d.siteRules.ofSite(d.access.site(principal, params.id)),
    }),
    defineRoute({
      method: 'PUT',
      url: '/api/v1/sites/:id/rules/:class',
      summary: 'Set the cold-chain thresholds of one temperature class at a site (audited)',
      roles: ['operator'],
      scoped: true,
      params: z.object({ id: lockerId, class: temperatureClass }),
      body: classRulesInput,
      response: { 200: api.classRules },
      handler: ({ params, body, principal }) =>
        toInput(
          d.siteRules.set(
            d.access.site(principal, params.id),
            params.class,
            body,
            `token:${principal.id}`,
            d.now(),
          ),
        ),
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/alarms',
      summary: 'Alarms, newest first: open ones by default',
      roles: ['operator'],
      scoped: true,
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
      response: { 200: api.alarmList },
      handler: ({ query, principal }) => ({
        alarms: d.alarms.list({ ...query, sites: principal.sites ?? undefined }),
      }),
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/alarms/:id/ack',
      summary: 'Acknowledge an alarm, with a comment',
      roles: ['operator'],
      scoped: true,
      params: z.object({ id: z.string().max(64) }),
      body: z.object({ comment: z.string().trim().min(1).max(500) }).strict(),
      response: { 200: api.alarmView },
      handler: ({ params, body, principal }) => {
        const alarm = d.alarms.get(params.id);
        if (!alarm || !d.access.mayUseSite(principal, d.access.siteOf(alarm.lockerId) ?? ''))
          throw new HubError('HUB_ERR_NOT_FOUND', `no alarm ${params.id}`);
        return d.alarms.acknowledge(params.id, principal, body.comment, d.now());
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/lockers/:id/sensors/:sensor/readings',
      summary: 'A sensor’s readings over a window: raw, or 5-minute min/max/mean',
      roles: ['operator', 'integration'],
      scoped: true,
      params: z.object({ id: lockerId, sensor: z.string().max(64) }),
      query: z.object({
        from: z.coerce.number().int().optional(),
        to: z.coerce.number().int().optional(),
        resolution: z.enum(['raw', '5m']).default('raw'),
      }),
      response: { 200: api.readings },
      handler: ({ params, query, principal }) => {
        d.access.locker(principal, params.id);
        const to = query.to ?? d.now();
        const from = query.from ?? to - 86_400_000;
        if (query.resolution === '5m') d.persist(params.id);
        return sensorReadings(d.db, { ...query, lockerId: params.id, sensor: params.sensor, from, to });
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/sites/:id/alarm-contacts',
      summary: 'Who a site’s alarms are e-mailed to, and after how many minutes unacknowledged',
      roles: ['operator'],
      scoped: true,
      params: z.object({ id: lockerId }),
      response: { 200: api.alarmContacts },
      handler: ({ params, principal }) => ({
        contacts: d.mail.contacts(d.access.site(principal, params.id)),
      }),
    }),
    defineRoute({
      method: 'PUT',
      url: '/api/v1/sites/:id/alarm-contacts',
      summary:
        'Set who a site’s alarms are e-mailed to: each contact gets an alarm still unacknowledged after its delay (0: at once); audited',
      roles: ['operator'],
      scoped: true,
      params: z.object({ id: lockerId }),
      body: z
        .object({
          contacts: z
            .array(
              z
                .object({
                  email: z.email().max(200),
                  afterMinutes: z
                    .number()
                    .int()
                    .min(0)
                    .max(7 * 24 * 60),
                })
                .strict(),
            )
            .max(10),
        })
        .strict(),
      response: { 200: api.alarmContacts },
      handler: ({ params, body, principal }) => ({
        contacts: d.mail.setContacts(
          d.access.site(principal, params.id),
          body.contacts,
          `token:${principal.id}`,
          d.now(),
        ),
      }),
    }),
    defineRoute({
      method: 'PUT',
      url: '/api/v1/lockers/:id/sensors/:sensor/calibration',
      summary:
        'Record a sensor’s calibration against a reference thermometer: the offset (°C) is added to its readings from now on; audited, and shown on the daily sheet',
      roles: ['operator'],
      scoped: true,
      params: z.object({ id: lockerId, sensor: z.string().max(64) }),
      body: z
        .object({
          offsetC: z.number().min(-5).max(5),
          /** The reference used (thermometer, its certificate). */
          reference: z.string().trim().min(1).max(200).optional(),
        })
        .strict(),
      response: { 200: api.calibration },
      handler: ({ params, body, principal }) => {
        d.access.locker(principal, params.id);
        return d.calibrate(
          params.id,
          params.sensor,
          { offsetC: body.offsetC, reference: body.reference ?? null },
          `token:${principal.id}`,
        );
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/lockers/:id/daily-sheet',
      summary:
        'The daily min/max sheet of a cabinet for inspectors: each sensor, the doors it watches, min, max, mean over the day at its site (midnight to midnight in the site’s time zone), as JSON or CSV',
      roles: ['operator'],
      scoped: true,
      params: z.object({ id: lockerId }),
      query: z.object({ date: z.iso.date(), format: z.enum(['json', 'csv']).default('json') }),
      response: { 200: api.dailySheet },
      csv: true,
      handler: ({ params, query, principal }) => {
        d.access.locker(principal, params.id);
        d.persist(params.id);
        const sheet = dailySheet(d.db, params.id, query.date, d.timeZoneOf(params.id));
        return query.format === 'json' ? sheet : new Csv(dailySheetCsv(sheet));
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/parcels/:id/temperature',
      summary:
        'The parcel’s temperature record from deposit to pickup, as JSON or CSV (?format=csv); a producer sees their own parcels’ only, an integration its platform’s',
      roles: ['operator', 'integration', 'producer'],
      scoped: true,
      params: z.object({ id: z.string().max(64) }),
      query: z.object({ format: z.enum(['json', 'csv']).default('json') }),
      response: { 200: api.temperatureRecord },
      csv: true,
      handler: ({ params, query, reply, principal }) => {
        d.access.parcel(principal, d.parcels.get(params.id));
        const record = temperatureRecord(d.db, params.id, d.now(), (l, cls) => d.siteRules.forLocker(l, cls));
        if (query.format === 'json') return record;
        reply.header('content-disposition', `attachment; filename="${params.id}-temperature.csv"`);
        return new Csv(recordCsv(record));
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/parcels/:id/release',
      summary: 'Release a quarantined parcel (its pickup code works again), with a reason',
      roles: ['operator'],
      scoped: true,
      params: z.object({ id: z.string().max(64) }),
      body: reason,
      response: { 200: api.parcel },
      handler: ({ params, body, principal }) =>
        decide(
          d.access.parcel(principal, d.parcels.get(params.id)).id,
          'release',
          body.reason,
          `token:${principal.id}`,
        ),
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/parcels/:id/discard',
      summary: 'Discard a quarantined parcel (never to be collected), with a reason',
      roles: ['operator'],
      scoped: true,
      params: z.object({ id: z.string().max(64) }),
      body: reason,
      response: { 200: api.parcel },
      handler: ({ params, body, principal }) =>
        decide(
          d.access.parcel(principal, d.parcels.get(params.id)).id,
          'discard',
          body.reason,
          `token:${principal.id}`,
        ),
    }),
  ];
}
