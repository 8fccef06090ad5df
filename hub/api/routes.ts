/** The HTTP API's routes (docs: the OpenAPI document at /api/v1/openapi.json). */
import { z } from 'zod';
import * as api from '../../devices/api.ts';
import { isId, isTimeZone, LANGUAGES, parseGs1 } from '../../devices/index.ts';
import { listEvents } from '../db/ledger.ts';
import type { Db } from '../db/open.ts';
import type { Access } from '../domain/access.ts';
import type { Commands } from '../domain/commands.ts';
import type { Fleet } from '../domain/fleet.ts';
import type { ParcelLifecycle } from '../domain/lifecycle.ts';
import type { LockerEvents } from '../domain/locker-events.ts';
import { createParcelInput, PARCEL_STATES, type Parcels } from '../domain/parcels.ts';
import type { Provisioning } from '../domain/provisioning.ts';
import type { RemoteOpens } from '../domain/remote-opens.ts';
import type { Transit } from '../domain/transit.ts';
import { HubError } from '../errors.ts';
import { defineRoute, type RouteDef } from './route.ts';

export interface ApiDeps {
  db: Db;
  access: Access;
  parcels: Parcels;
  lifecycle: ParcelLifecycle;
  fleet: Fleet;
  lockerEvents: LockerEvents;
  commands: Commands;
  transit: Transit;
  provisioning: Provisioning;
  remoteOpens: RemoteOpens;
  send: (lockerId: string, commands: ReturnType<LockerEvents['remoteOpen']>[]) => void;
  now: () => number;
}

const id = z.string().min(1).max(64);
const siteId = z.string().refine(isId, 'not a site id');
const lockerId = z.string().refine(isId, 'not a locker id');
const limit = z.coerce.number().int().min(1).max(1000).default(100);

/** A search term as typed or scanned: a GS1 label is reduced to the SSCC it carries. */
function searchTerm(q: string): string {
  const label = parseGs1(q);
  const sscc = label.ok ? (label.fields.sscc as string | undefined) : undefined;
  return sscc ?? q;
}

export function apiRoutes(d: ApiDeps): RouteDef[] {
  return [
    defineRoute({
      method: 'POST',
      url: '/api/v1/parcels',
      summary:
        'Create a parcel: reserves a compartment and returns the deposit and pickup codes (shown once)',
      roles: ['integration', 'operator'],
      scoped: true,
      body: createParcelInput,
      response: { 201: api.parcelCreated },
      handler: ({ body, principal }) => {
        if (body.lockerId) d.access.locker(principal, body.lockerId);
        if (body.siteId) d.access.site(principal, body.siteId);
        if (body.destinationLockerId) d.access.locker(principal, body.destinationLockerId);
        if (body.destinationSiteId) d.access.site(principal, body.destinationSiteId);
        if (body.producerId) d.access.producer(principal, body.producerId);
        const now = d.now();
        return d.parcels.create(body, `token:${principal.id}`, {
          tenant: d.access.tenant(principal),
          admit: (site, depositExpiresAt) => d.access.reservation(principal, site, depositExpiresAt, now),
        });
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/parcels',
      summary:
        'List parcels, newest first (a producer sees only their own, an integration its platform’s, a token limited to sites those sites’)',
      roles: ['integration', 'operator', 'producer'],
      scoped: true,
      query: z.object({
        state: z.enum(PARCEL_STATES).optional(),
        lockerId: lockerId.optional(),
        sscc: z
          .string()
          .regex(/^\d{18}$/)
          .optional(),
        reference: z.string().max(120).optional(),
        /** Search: a parcel id, SSCC (or a scanned GS1 label carrying one), reference, or part of the recipient's name, email or phone. */
        q: z.string().trim().min(1).max(200).optional(),
        before: z.coerce.number().int().optional(),
        limit,
      }),
      response: { 200: api.parcelList },
      handler: ({ query, principal }) => {
        const filter = { ...query, q: query.q && searchTerm(query.q) };
        return { parcels: d.parcels.list({ ...filter, ...d.access.parcelFilter(principal) }) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/parcels/:id',
      summary:
        'A parcel with the state of its codes (never the codes) and its timeline (every event that concerns it); a producer sees only their own, an integration its platform’s',
      roles: ['integration', 'operator', 'producer'],
      scoped: true,
      params: z.object({ id }),
      response: { 200: api.parcelWithTimeline },
      handler: ({ params, principal }) => {
        // Another's parcel does not exist, as far as this token can tell.
        const parcel = d.access.parcel(principal, d.parcels.get(params.id));
        return {
          ...parcel,
          codes: d.parcels.codesOf(params.id, d.now()),
          timeline: d.parcels.timeline(params.id),
        };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/parcels/:id/cancel',
      summary: 'Cancel a parcel whose goods are not in yet: its codes stop working, its compartment is freed',
      roles: ['integration', 'operator'],
      scoped: true,
      params: z.object({ id }),
      body: z.object({ reason: z.string().trim().min(3).max(500) }).strict(),
      response: { 200: api.parcel },
      handler: ({ params, body, principal }) => {
        d.access.parcel(principal, d.parcels.get(params.id));
        d.lifecycle.cancel(params.id, body.reason, `token:${principal.id}`, d.now());
        return d.parcels.get(params.id);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/parcels/:id/redirect',
      summary:
        'Send a parcel to another locker or site: before collection and in the van its destination changes; ready and not collected, its pickup code stops and a driver takes it there (parcel.rerouted)',
      roles: ['integration', 'operator'],
      scoped: true,
      params: z.object({ id }),
      body: z
        .object({ lockerId: lockerId.optional(), siteId: siteId.optional() })
        .strict()
        .refine((v) => !!v.lockerId !== !!v.siteId, {
          message: 'give exactly one of lockerId and siteId',
          path: ['lockerId'],
        }),
      response: { 200: api.parcel },
      handler: ({ params, body, principal }) => {
        d.access.parcel(principal, d.parcels.get(params.id));
        if (body.lockerId) d.access.locker(principal, body.lockerId);
        if (body.siteId) d.access.site(principal, body.siteId);
        d.transit.redirect(params.id, body, { actor: `token:${principal.id}`, by: principal.role }, d.now());
        return d.parcels.get(params.id);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/drivers',
      summary:
        'Create a driver; their keypad code (shown once) opens the doors of parcels waiting for collection',
      roles: ['operator'],
      scoped: true,
      body: z
        .object({
          name: z.string().trim().min(1).max(120),
          /** Their round: their code and their app open doors at these sites only. */
          sites: z.array(siteId).min(1).max(100),
          expiresAt: z.number().int().positive().optional(),
        })
        .strict(),
      response: { 201: api.driverCreated },
      handler: ({ body, principal }) => {
        for (const site of body.sites) d.access.site(principal, site);
        // The driver and their app's token (it sees this driver's round and nothing else) commit together.
        return d.db
          .transaction(() => {
            const actor = `token:${principal.id}`;
            const driver = d.transit.createDriver(body.name, actor, d.now(), body);
            const { token } = d.provisioning.createToken('driver', body.name, actor, {
              subject: driver.id,
              // The driver's round is their token's scope; it expires no later than its creator.
              expiresAt: driver.expiresAt ?? principal.expiresAt,
            });
            return { ...driver, token };
          })
          .immediate();
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/drivers',
      summary: 'Every driver: their round, when their code expires, whether it still works',
      roles: ['operator'],
      response: { 200: api.driverList },
      handler: () => ({ drivers: d.transit.drivers(d.now()) }),
    }),
    defineRoute({
      method: 'PUT',
      url: '/api/v1/drivers/:id/round',
      summary:
        "Set a driver's round: the sites where their code and their app open doors (a driver from before rounds existed has none); audited",
      roles: ['operator'],
      params: z.object({ id }),
      body: z.object({ sites: z.array(siteId).min(1).max(100) }).strict(),
      response: { 200: api.driverList.shape.drivers.element },
      handler: ({ params, body, principal }) =>
        d.db
          .transaction(() => d.transit.setRound(params.id, body.sites, `token:${principal.id}`, d.now()))
          .immediate(),
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/drivers/:id/revoke',
      summary: 'Deactivate a driver: their code and their tokens stop working at once (audited)',
      roles: ['operator'],
      params: z.object({ id }),
      body: z.object({ reason: z.string().trim().min(3).max(500) }).strict(),
      response: { 204: null },
      handler: ({ params, body, principal }) => {
        d.db
          .transaction(() => d.transit.revokeDriver(params.id, body.reason, `token:${principal.id}`, d.now()))
          .immediate();
        return null;
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/producers',
      summary:
        'Create a producer and their token (shown once): it lists their parcels and receipts, nothing else',
      roles: ['operator', 'integration'],
      scoped: true,
      body: z.object({ name: z.string().trim().min(1).max(120) }).strict(),
      response: { 201: api.producerCreated },
      handler: ({ body, principal }) =>
        d.provisioning.createProducer(
          body.name,
          `token:${principal.id}`,
          d.access.tenant(principal),
          principal,
        ),
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/round',
      summary: "The driver's round: parcels waiting at each box, and those in their custody by destination",
      roles: ['driver'],
      scoped: true,
      response: { 200: api.round },
      handler: ({ principal }) => d.transit.round(principal.subject ?? '-', principal.sites),
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/round/arrive',
      summary: 'The driver app at a cabinet: as if the driver typed their code there',
      roles: ['driver'],
      scoped: true,
      body: z.object({ lockerId }).strict(),
      response: { 200: api.doorsOpened },
      handler: ({ body, principal }) => {
        // A cabinet off the driver's round does not exist for their app.
        d.access.locker(principal, body.lockerId);
        const driver = d.transit.driver(principal.subject ?? '-');
        const commands = d.db
          .transaction(() => d.transit.driverArrived(body.lockerId, driver, d.now()))
          .immediate();
        d.send(body.lockerId, commands);
        return {
          doors: commands.filter((c) => c.type === 'unlock').map((c) => (c as { door: number }).door),
        };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/round/scan',
      summary: "The driver app's scanner at a cabinet: a parcel label, as if read by the cabinet's scanner",
      roles: ['driver'],
      scoped: true,
      body: z.object({ lockerId, data: z.string().min(1).max(256) }).strict(),
      response: { 200: api.labelScanned },
      handler: ({ body, principal }) => {
        d.access.locker(principal, body.lockerId);
        const gs1 = parseGs1(body.data);
        const sscc = gs1.ok ? (gs1.fields.sscc as string | undefined) : undefined;
        if (!sscc)
          throw new HubError(
            'HUB_ERR_VALIDATION',
            gs1.ok ? 'the label carries no SSCC' : `not a GS1 label: ${gs1.error}`,
          );
        const driver = d.transit.driver(principal.subject ?? '-');
        const commands = d.db
          .transaction(() => d.transit.scanned(body.lockerId, sscc, d.now(), driver))
          .immediate();
        d.send(body.lockerId, commands);
        return {
          sscc,
          doors: commands.filter((c) => c.type === 'unlock').map((c) => (c as { door: number }).door),
        };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/parcels/:id/return-code',
      summary: 'A code for the producer to take back a parcel returned to its box (shown once, valid 7 days)',
      roles: ['producer', 'operator'],
      scoped: true,
      params: z.object({ id }),
      response: { 201: api.returnCode },
      handler: ({ params, principal }) => {
        d.access.parcel(principal, d.parcels.get(params.id));
        return d.parcels.issueReturnCode(params.id, `token:${principal.id}`, d.now());
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/parcels/:id/customer-return',
      summary:
        'A customer sends back goods they collected: a new parcel bound for its producer’s box, reserved at the locker or site given (default: where they collected it), and its deposit code (shown once)',
      roles: ['integration', 'operator'],
      scoped: true,
      params: z.object({ id }),
      body: z
        .object({
          lockerId: lockerId.optional(),
          siteId: siteId.optional(),
          depositExpiresAt: z.number().int().positive().optional(),
        })
        .strict()
        .refine((v) => !(v.lockerId && v.siteId), {
          message: 'give at most one of lockerId and siteId',
          path: ['lockerId'],
        }),
      response: { 201: api.customerReturn },
      handler: ({ params, body, principal }) => {
        d.access.parcel(principal, d.parcels.get(params.id));
        if (body.lockerId) d.access.locker(principal, body.lockerId);
        if (body.siteId) d.access.site(principal, body.siteId);
        const now = d.now();
        if (body.depositExpiresAt !== undefined && body.depositExpiresAt <= now)
          throw new HubError('HUB_ERR_VALIDATION', 'depositExpiresAt is in the past');
        const actor = `token:${principal.id}`;
        const made = d.transit.customerReturn(
          params.id,
          body,
          actor,
          now,
          (input) =>
            d.parcels.create(input, actor, {
              // The original's platform, whoever asks (an operator for them).
              tenant: d.access.tenantOf(params.id),
              admit: (site, depositExpiresAt) => d.access.reservation(principal, site, depositExpiresAt, now),
            }),
          body.depositExpiresAt,
        );
        return { parcel: d.parcels.get(made.id), depositCode: made.depositCode, returnOf: params.id };
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/api/v1/sites/:id/settings',
      summary:
        "A site's settings: whether a driver's code opens the collection doors one after another (default) or all at once, the language and time zone its people read, and how far a customer may extend their pickup window",
      roles: ['operator'],
      scoped: true,
      params: z.object({ id: lockerId }),
      body: z
        .object({
          driverDoors: z.enum(api.DRIVER_DOORS).optional(),
          /** What its keypads, its customers' pages and notices say; null: the hub's language (`--language`). */
          language: z.enum(LANGUAGES).nullable().optional(),
          /** The IANA time zone its times are shown in (`Europe/Paris`); null: the hub's (`--time-zone`). */
          timeZone: z.string().refine(isTimeZone, 'not an IANA time zone').nullable().optional(),
          /** A customer may add `hours` to their pickup window, up to `times` times (0: never). */
          extend: z
            .object({
              hours: z
                .number()
                .int()
                .min(1)
                .max(24 * 7),
              times: z.number().int().min(0).max(5),
            })
            .strict()
            .optional(),
        })
        .strict()
        .refine((b) => Object.values(b).some((v) => v !== undefined), 'give a setting to change'),
      response: { 200: api.siteSettings },
      handler: ({ params, body, principal }) => {
        d.access.site(principal, params.id);
        return d.fleet.setSiteSettings(params.id, body, `token:${principal.id}`, d.now());
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/sites/:id/settings',
      summary: "A site's settings as it set them (null: the hub's)",
      roles: ['operator'],
      scoped: true,
      params: z.object({ id: lockerId }),
      response: { 200: api.siteSettings },
      handler: ({ params, principal }) => {
        d.access.site(principal, params.id);
        return d.fleet.siteSettings(params.id);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/sites',
      summary:
        'Sites with their number of lockers, how many are online, and the line of a site broker to the hub',
      roles: ['operator', 'integration'],
      scoped: true,
      response: { 200: api.siteList },
      handler: ({ principal }) => ({
        sites: d.fleet.sites().filter((s) => d.access.mayUseSite(principal, s.id)),
      }),
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/lockers',
      summary: 'Lockers and their connection state',
      roles: ['operator', 'integration'],
      scoped: true,
      query: z.object({ siteId: lockerId.optional() }),
      response: { 200: api.lockerList },
      handler: ({ query, principal }) => ({
        lockers: d.fleet.lockers(query.siteId).filter((l) => d.access.mayUseSite(principal, l.siteId)),
      }),
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/lockers/:id',
      summary: 'One locker with its compartments: door state, occupancy, parcel',
      roles: ['operator', 'integration'],
      scoped: true,
      params: z.object({ id: lockerId }),
      response: { 200: api.lockerView },
      handler: ({ params, principal }) => {
        d.access.locker(principal, params.id);
        const locker = d.fleet.locker(params.id);
        if (principal.role !== 'integration') return locker;
        // A platform sees that a door is taken, not whose parcel took it.
        const mine = (id: string) => d.access.tenantOf(id) === principal.subject;
        return {
          ...locker,
          compartments: locker.compartments.map((c) =>
            c.parcel && !mine(c.parcel.id) ? { ...c, parcel: null } : c,
          ),
        };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/lockers/:id/compartments/:door/open',
      summary: 'Open a door remotely, with a reason (audited)',
      roles: ['operator'],
      params: z.object({ id: lockerId, door: z.coerce.number().int().min(1).max(255) }),
      body: z
        .object({
          reason: z.string().trim().min(3).max(500),
          /** Taking the goods out: once the door has closed, the parcel inside is `returned` and the compartment free. */
          retrieve: z.boolean().optional(),
        })
        .strict(),
      scoped: true,
      response: { 202: api.commandAccepted },
      handler: ({ params, body, principal }) => {
        d.access.locker(principal, params.id);
        const locker = d.fleet.locker(params.id);
        if (!locker.online)
          throw new HubError(
            'HUB_ERR_LOCKER_OFFLINE',
            `locker ${params.id} is offline: the door cannot be opened now`,
          );
        const now = d.now();
        // Past its budget an open is refused, and the site's remote opening suspended (committed).
        d.remoteOpens.admit(params.id, principal.id, now);
        const command = d.db
          .transaction(() => {
            const c = d.lockerEvents.remoteOpen(
              params.id,
              params.door,
              { tokenId: principal.id, name: principal.name, ...body },
              now,
            );
            d.remoteOpens.record(params.id, principal.id, now);
            return c;
          })
          .immediate();
        d.send(params.id, [command]);
        return { commandId: command.id, expiresAt: command.expiresAt };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/lockers/:id/open-requests',
      summary:
        'Ask to open several doors at once (emptying a broken cabinet): they open when another operator approves, within 15 minutes (audited)',
      roles: ['operator'],
      scoped: true,
      params: z.object({ id: lockerId }),
      body: z
        .object({
          doors: z.array(z.number().int().min(1).max(255)).min(2).max(255),
          reason: z.string().trim().min(3).max(500),
          retrieve: z.boolean().optional(),
        })
        .strict(),
      response: { 201: api.openRequest },
      handler: ({ params, body, principal }) => {
        d.access.locker(principal, params.id);
        const doors = new Set(d.fleet.locker(params.id).compartments.map((c) => c.door));
        const unknown = body.doors.filter((door) => !doors.has(door));
        if (unknown.length)
          throw new HubError(
            'HUB_ERR_COMPARTMENT_NOT_FOUND',
            `locker ${params.id} has no door ${unknown.join(', ')}`,
          );
        return d.db
          .transaction(() =>
            d.remoteOpens.requestBulk(params.id, { tokenId: principal.id, ...body }, d.now()),
          )
          .immediate();
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/open-requests',
      summary:
        'Requests to open several doors at once, newest first: pending ones wait for a second operator',
      roles: ['operator'],
      scoped: true,
      query: z.object({ state: z.enum(['pending', 'approved', 'rejected', 'expired']).optional() }),
      response: { 200: api.openRequestList },
      handler: ({ query, principal }) => ({
        requests: d.remoteOpens
          .bulks(d.now(), query.state)
          .filter((r) => d.access.mayUseSite(principal, d.access.siteOf(r.lockerId) ?? '')),
      }),
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/open-requests/:id/approve',
      summary: 'Approve another operator’s request to open several doors: they open now (audited)',
      roles: ['operator'],
      scoped: true,
      params: z.object({ id }),
      body: z.object({ reason: z.string().trim().max(500).optional() }).strict(),
      response: { 200: api.openRequestDecided },
      handler: ({ params, body, principal }) => {
        const now = d.now();
        const request = d.remoteOpens.bulk(params.id, now);
        // A request at another site does not exist for this token, as an unknown id.
        if (!d.access.mayUseSite(principal, d.access.siteOf(request.lockerId) ?? ''))
          throw new HubError('HUB_ERR_NOT_FOUND', `no open request ${params.id}`);
        if (!d.fleet.locker(request.lockerId).online)
          throw new HubError(
            'HUB_ERR_LOCKER_OFFLINE',
            `locker ${request.lockerId} is offline: its doors cannot be opened now`,
          );
        const { decided, commands } = d.db
          .transaction(() => {
            const decided = d.remoteOpens.decideBulk(
              params.id,
              'approved',
              { tokenId: principal.id, ...body },
              now,
            );
            const commands = decided.doors.map((door) =>
              d.lockerEvents.remoteOpen(
                request.lockerId,
                door,
                {
                  tokenId: principal.id,
                  name: principal.name,
                  reason: `${request.reason} (asked by token ${request.requestedBy}, request ${request.id})`,
                  retrieve: request.retrieve,
                },
                now,
              ),
            );
            return { decided, commands };
          })
          .immediate();
        d.send(request.lockerId, commands);
        return { ...decided, commandIds: commands.map((c) => c.id) };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/open-requests/:id/reject',
      summary: 'Reject another operator’s request to open several doors (audited)',
      roles: ['operator'],
      scoped: true,
      params: z.object({ id }),
      body: z.object({ reason: z.string().trim().min(3).max(500) }).strict(),
      response: { 200: api.openRequestDecided },
      handler: ({ params, body, principal }) => {
        const now = d.now();
        const { lockerId } = d.remoteOpens.bulk(params.id, now);
        if (!d.access.mayUseSite(principal, d.access.siteOf(lockerId) ?? ''))
          throw new HubError('HUB_ERR_NOT_FOUND', `no open request ${params.id}`);
        const decided = d.db
          .transaction(() =>
            d.remoteOpens.decideBulk(params.id, 'rejected', { tokenId: principal.id, ...body }, now),
          )
          .immediate();
        return { ...decided, commandIds: [] };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/sites/:id/remote-opens/resume',
      summary:
        'Lift the suspension of remote opening at a site, which a token past its budget tripped: by another operator, with a reason (audited)',
      roles: ['operator'],
      scoped: true,
      params: z.object({ id: siteId }),
      body: z.object({ reason: z.string().trim().min(3).max(500) }).strict(),
      response: { 200: z.object({ resumed: z.literal(true) }) },
      handler: ({ params, body, principal }) => {
        d.access.site(principal, params.id);
        const now = d.now();
        d.db
          .transaction(() => d.remoteOpens.resume(params.id, { tokenId: principal.id, ...body }, now))
          .immediate();
        return { resumed: true as const };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/lockers/:id/compartments/:door/open/cancel',
      summary: 'Give up an open in progress whose door has not opened (audited): the door returns to service',
      roles: ['operator'],
      params: z.object({ id: lockerId, door: z.coerce.number().int().min(1).max(255) }),
      body: z.object({ reason: z.string().trim().min(3).max(500) }).strict(),
      scoped: true,
      response: { 200: z.object({ cancelled: z.literal(true) }) },
      handler: ({ params, body, principal }) => {
        d.access.locker(principal, params.id);
        const now = d.now();
        d.db
          .transaction(() =>
            d.lockerEvents.cancelOpen(params.id, params.door, { tokenId: principal.id, ...body }, now),
          )
          .immediate();
        return { cancelled: true as const };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/commands/:id',
      summary:
        'A command sent to a cabinet and its outcome (each sending counted in `attempts` within a second)',
      roles: ['operator'],
      scoped: true,
      params: z.object({ id }),
      response: { 200: api.commandView },
      handler: ({ params, principal }) => {
        const command = d.commands.view(params.id);
        // Another site's command is no more than an unknown one to a token limited to sites.
        const site = command && d.access.siteOf(command.lockerId);
        if (
          !command ||
          (principal.sites !== null && (site === undefined || !d.access.mayUseSite(principal, site)))
        )
          throw new HubError('HUB_ERR_NOT_FOUND', `no command ${params.id}`);
        return command;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/tokens',
      summary: 'Every API token (never its secret), revoked and expired ones included',
      roles: ['operator'],
      query: z.object({ role: z.enum(api.TOKEN_ROLES).optional() }),
      response: { 200: api.tokenList },
      handler: ({ query }) => ({ tokens: d.provisioning.listTokens(query) }),
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/tokens',
      summary:
        'Create an integration token (shown once), limited to sites, expiring no later than the token creating it, with a reservation quota (audited). Operator tokens are created on the hub’s machine only (casier token create): a stolen operator token cannot make itself a second operator',
      roles: ['operator'],
      body: z
        .object({
          role: z.literal('integration'),
          name: z.string().trim().min(1).max(120),
          sites: z.array(siteId).min(1).max(100).optional(),
          expiresAt: z.number().int().positive().optional(),
          /** An integration's platform: a second token of the same platform sees what the first created. */
          platform: z.string().trim().min(1).max(64).optional(),
          maxReservations: z.number().int().min(0).max(100_000).optional(),
        })
        .strict(),
      response: { 201: api.tokenCreated },
      handler: ({ body, principal }) =>
        d.provisioning.createToken(body.role, body.name, `token:${principal.id}`, {
          sites: body.sites,
          expiresAt: body.expiresAt,
          subject: body.platform,
          maxReservations: body.maxReservations,
          parent: principal,
        }),
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/tokens/:id/revoke',
      summary:
        'Revoke a token: refused from now on, its live feeds closed within a second (audited); `cascade`: the tokens it created too, and theirs',
      roles: ['operator'],
      params: z.object({ id }),
      body: z.object({ reason: z.string().trim().min(3).max(500), cascade: z.boolean().optional() }).strict(),
      response: { 200: api.tokenView },
      handler: ({ params, body, principal }) =>
        d.provisioning.revokeToken(params.id, body.reason, `token:${principal.id}`, {
          cascade: body.cascade,
        }),
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/events',
      summary: 'The audit trail, oldest first from `after`',
      roles: ['operator'],
      query: z.object({
        after: z.coerce.number().int().min(0).default(0),
        lockerId: lockerId.optional(),
        parcelId: id.optional(),
        type: z.string().max(64).optional(),
        limit,
      }),
      response: { 200: api.eventList },
      handler: ({ query }) => ({ events: listEvents(d.db, query) }),
    }),
  ];
}
