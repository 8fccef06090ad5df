/**
 * Parcels that travel (SPEC §4): deposited at a rural box, collected by a driver, delivered to a
 * town locker. A driver's code at a box opens every door holding a parcel waiting for collection;
 * each parcel's label is scanned as it leaves; at the destination, scanning a parcel opens the
 * door allocated to it then (so a late round never holds a compartment for hours). Anything
 * unexpected is flagged at once, as a `transit.flag` event with a reason.
 */
import { type Command, SIZES, type Size, type TemperatureClass } from '../../devices/index.ts';
import type { Ledger } from '../db/ledger.ts';
import { cached, type Db } from '../db/open.ts';
import { HubError } from '../errors.ts';
import { freeCompartment } from './allocation.ts';
import type { Codes } from './codes.ts';
import type { Commands } from './commands.ts';
import { Compartments } from './compartments.ts';
import { ParcelStates } from './parcel-states.ts';
import type { CreateParcelInput } from './parcels.ts';
import { newId } from './secrets.ts';
import { Voice } from './voice.ts';

/** How many times a platform may redirect one parcel. */
export const MAX_REDIRECTS = 3;

/** How long after a driver's code the scans at that cabinet are theirs. */
const SESSION_MS = 15 * 60_000;

interface TransitParcel {
  id: string;
  state: string;
  locker_id: string;
  door: number;
  size: Size;
  temperature_class: TemperatureClass;
  category: string | null;
  destination_locker_id: string | null;
  destination_site_id: string | null;
  collect_scanned_at: number | null;
  custody: string | null;
  pickup_window_ms: number;
}

/** The driver at a cabinet, and the doors still to open for them one after another. */
interface Session {
  driverId: string;
  name: string;
  until: number;
  queue: Array<{ id: string; door: number }>;
}

export class Transit {
  readonly #states: ParcelStates;
  readonly #compartments: Compartments;

  constructor(
    private readonly db: Db,
    private readonly ledger: Ledger,
    private readonly codes: Codes,
    private readonly commands: Commands,
    /** The keypad's words to the driver, in the site's language. */
    private readonly voice = new Voice(db),
  ) {
    this.#states = new ParcelStates(db, ledger);
    this.#compartments = new Compartments(db);
  }

  /**
   * A driver and their keypad code (shown once). `sites`: their round, the only sites where their
   * code and their app's token open anything; `expiresAt`: when both stop working.
   */
  createDriver(
    name: string,
    actor: string,
    now: number,
    scope: { sites: readonly string[]; expiresAt?: number | null },
  ): { id: string; name: string; code: string; sites: string[]; expiresAt: number | null } {
    const id = newId('DR');
    const sites = [...new Set(scope.sites)].sort();
    const expiresAt = scope.expiresAt ?? null;
    if (!sites.length) throw new HubError('HUB_ERR_VALIDATION', 'a driver needs the sites of their round');
    if (expiresAt !== null && expiresAt <= now)
      throw new HubError('HUB_ERR_VALIDATION', 'expiresAt is in the past');
    return this.db
      .transaction(() => {
        for (const site of sites)
          if (!cached(this.db, 'SELECT 1 FROM sites WHERE id = ?').get(site))
            throw new HubError('HUB_ERR_SITE_NOT_FOUND', `no site ${site}`);
        for (;;) {
          const code = this.codes.fresh();
          const hash = this.codes.hash(code);
          const taken = cached(
            this.db,
            `SELECT 1 FROM drivers WHERE code_hash = ? UNION ALL SELECT 1 FROM codes WHERE hash = ? AND state IN ('pending', 'active')`,
          );
          if (taken.get(hash, hash)) continue;
          cached(
            this.db,
            'INSERT INTO drivers (id, name, code_hash, created_at, sites, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
          ).run(id, name, hash, now, JSON.stringify(sites), expiresAt);
          this.ledger.append({
            ts: now,
            type: 'driver.created',
            actor,
            data: { id, name, sites, expiresAt },
          });
          return { id, name, code, sites, expiresAt };
        }
      })
      .immediate();
  }

  driver(id: string): { id: string; name: string } {
    const d = cached(this.db, 'SELECT id, name FROM drivers WHERE id = ? AND active = 1').get(id) as
      | { id: string; name: string }
      | undefined;
    if (!d) throw new HubError('HUB_ERR_NOT_FOUND', 'no driver for this token');
    return d;
  }

  /**
   * The active driver whose code has this keyed hash (`Codes.hash`), if `siteId` is on their
   * round and their code has not expired: elsewhere their code is no code at all. A driver from
   * before rounds existed has none until an operator gives one (`setRound`).
   */
  driverByHash(hash: string, siteId: string, now: number): { id: string; name: string } | undefined {
    return cached(
      this.db,
      `SELECT id, name FROM drivers WHERE code_hash = ? AND active = 1 AND (expires_at IS NULL OR expires_at > ?)
         AND EXISTS (SELECT 1 FROM json_each(sites) WHERE value = ?)`,
    ).get(hash, now, siteId) as { id: string; name: string } | undefined;
  }

  /** Every driver, newest first, with their round and whether their code still works. */
  drivers(now: number) {
    const rows = cached(
      this.db,
      'SELECT * FROM drivers ORDER BY created_at DESC, id DESC',
    ).all() as DriverRow[];
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      sites: r.sites === null ? null : (JSON.parse(r.sites) as string[]),
      createdAt: r.created_at,
      expiresAt: r.expires_at,
      active: r.active === 1 && (r.expires_at === null || r.expires_at > now),
    }));
  }

  /** Gives a driver their round (the sites where their code and app open doors), audited. */
  setRound(id: string, sites: readonly string[], actor: string, now: number) {
    const round = [...new Set(sites)].sort();
    for (const site of round)
      if (!cached(this.db, 'SELECT 1 FROM sites WHERE id = ?').get(site))
        throw new HubError('HUB_ERR_SITE_NOT_FOUND', `no site ${site}`);
    const changed = cached(this.db, 'UPDATE drivers SET sites = ? WHERE id = ?').run(
      JSON.stringify(round),
      id,
    ).changes;
    if (!changed) throw new HubError('HUB_ERR_NOT_FOUND', `no driver ${id}`);
    this.ledger.append({ ts: now, type: 'driver.round_set', actor, data: { id, sites: round } });
    return this.drivers(now).find((d) => d.id === id) as ReturnType<Transit['drivers']>[number];
  }

  /**
   * Deactivates a driver: their code opens nothing from this commit on (the offline tables never
   * held it: a driver's code works online only), and every token of theirs is refused.
   */
  revokeDriver(id: string, reason: string, actor: string, now: number): void {
    const row = cached(this.db, 'SELECT active FROM drivers WHERE id = ?').get(id) as
      | { active: number }
      | undefined;
    if (!row) throw new HubError('HUB_ERR_NOT_FOUND', `no driver ${id}`);
    if (row.active === 0) return;
    cached(this.db, 'UPDATE drivers SET active = 0 WHERE id = ?').run(id);
    cached(
      this.db,
      "UPDATE api_tokens SET revoked_at = ? WHERE role = 'driver' AND subject = ? AND revoked_at IS NULL",
    ).run(now, id);
    cached(this.db, 'DELETE FROM driver_sessions WHERE driver_id = ?').run(id);
    this.ledger.append({ ts: now, type: 'driver.revoked', actor, data: { id, reason } });
  }

  /** A driver typed their code at a cabinet: open the doors of the parcels waiting to leave. */
  driverArrived(lockerId: string, driver: { id: string; name: string }, now: number): Command[] {
    const waiting = cached(
      this.db,
      `SELECT p.* FROM parcels p JOIN compartments c ON c.locker_id = p.locker_id AND c.door = p.door
         WHERE p.locker_id = ? AND c.pending_action IS NULL AND c.parcel_id = p.id
           AND ((p.state = 'stored' AND (p.destination_locker_id IS NOT NULL OR p.destination_site_id IS NOT NULL))
             -- a travelled parcel nobody collected goes back where it came from
             OR (p.state = 'expired' AND p.origin_locker_id IS NOT NULL AND p.origin_locker_id <> p.locker_id))
         ORDER BY p.door`,
    ).all(lockerId) as TransitParcel[];
    const out: Command[] = [];
    // One door after another (the next opens when the previous closes), unless the site opens all at once.
    const mode = cached(
      this.db,
      'SELECT s.driver_doors FROM sites s JOIN lockers l ON l.site_id = s.id WHERE l.id = ?',
      'pluck',
    ).get(lockerId);
    const now_ = mode === 'all' ? waiting : waiting.slice(0, 1);
    const queue = (mode === 'all' ? [] : waiting.slice(1)).map((p) => ({ id: p.id, door: p.door }));
    this.#startSession(lockerId, driver.id, now, queue);
    for (const p of now_) out.push(this.#openForCollection(lockerId, driver.id, p, now));
    this.ledger.append({
      ts: now,
      type: 'driver.arrived',
      actor: `driver:${driver.id}`,
      lockerId,
      data: { driver: driver.name, collect: waiting.map((p) => ({ parcelId: p.id, door: p.door })) },
    });
    const deliver = cached(
      this.db,
      `SELECT count(*) FROM parcels WHERE state = 'in_transit' AND custody = ? AND (destination_locker_id = ? OR destination_site_id = (SELECT site_id FROM lockers WHERE id = ?))`,
      'pluck',
    ).get(driver.id, lockerId, lockerId) as number;
    const text = waiting.length
      ? this.voice.say(lockerId, 'driver.collect', { doors: waiting.length })
      : deliver
        ? this.voice.say(lockerId, 'driver.deliver', { parcels: deliver })
        : this.voice.say(lockerId, 'driver.nothing');
    out.push(this.commands.create(lockerId, { type: 'display', text }, { kind: 'keypad' }, now));
    return out;
  }

  #openForCollection(
    lockerId: string,
    driverId: string,
    p: { id: string; door: number },
    now: number,
  ): Command {
    const unlock = this.commands.create(
      lockerId,
      { type: 'unlock', door: p.door },
      { kind: 'driver', driverId, parcelId: p.id, door: p.door, action: 'collect' },
      now,
    );
    this.#compartments.begin(lockerId, p.door, 'collect', unlock.id);
    return unlock;
  }

  /**
   * The driver at a cabinet, kept in the store: it changes inside the transaction of the keypad
   * entry, scan or door event that caused it, rolls back with it, and outlives a restart.
   * `queue` given: the doors still to open one after another, replacing any; absent: the same
   * driver's queue is kept (a scan from their app in the middle of a collection).
   */
  #startSession(lockerId: string, driverId: string, now: number, queue?: Session['queue']): void {
    cached(
      this.db,
      `INSERT INTO driver_sessions (locker_id, driver_id, until, queue) VALUES (@lockerId, @driverId, @until, @queue)
         ON CONFLICT (locker_id) DO UPDATE SET until = excluded.until, driver_id = excluded.driver_id,
           queue = CASE WHEN @keep AND driver_id = excluded.driver_id THEN queue ELSE excluded.queue END`,
    ).run({
      lockerId,
      driverId,
      until: now + SESSION_MS,
      queue: JSON.stringify(queue ?? []),
      keep: queue ? 0 : 1,
    });
  }

  #session(lockerId: string): Session | undefined {
    const row = cached(
      this.db,
      `SELECT s.driver_id AS driverId, d.name, s.until, s.queue FROM driver_sessions s
         JOIN drivers d ON d.id = s.driver_id WHERE s.locker_id = ?`,
    ).get(lockerId) as (Omit<Session, 'queue'> & { queue: string }) | undefined;
    return row && { ...row, queue: JSON.parse(row.queue) as Session['queue'] };
  }

  /** The next door of a one-after-another collection, if any. */
  #next(lockerId: string, now: number): Command[] {
    const session = this.#session(lockerId);
    const next = session?.queue.shift();
    if (!session || !next) return [];
    cached(this.db, 'UPDATE driver_sessions SET queue = ? WHERE locker_id = ?').run(
      JSON.stringify(session.queue),
      lockerId,
    );
    return [this.#openForCollection(lockerId, session.driverId, next, now)];
  }

  /** What a driver has to do: parcels waiting at each box, and those they carry, by destination. */
  round(driverId: string, sites: readonly string[] | null) {
    const driver = cached(this.db, 'SELECT id, name FROM drivers WHERE id = ?').get(driverId) as
      | { id: string; name: string }
      | undefined;
    if (!driver) throw new HubError('HUB_ERR_NOT_FOUND', 'no driver for this token');
    const view = (p: TransitParcel & { sscc: string | null; site_id: string }) => ({
      id: p.id,
      sscc: p.sscc,
      door: p.door,
      size: p.size,
      temperatureClass: p.temperature_class,
      destination: { lockerId: p.destination_locker_id, siteId: p.destination_site_id },
    });
    const group = (
      rows: Array<TransitParcel & { sscc: string | null; site_id: string }>,
      key: (p: TransitParcel & { site_id: string }) => string,
    ) => {
      const out = new Map<string, ReturnType<typeof view>[]>();
      for (const p of rows) out.set(key(p), [...(out.get(key(p)) ?? []), view(p)]);
      return [...out].map(([at, parcels]) => ({ at, parcels }));
    };
    // Only at the sites of their round: a driver learns nothing of the others' parcels.
    const waiting = cached(
      this.db,
      `SELECT p.*, l.site_id FROM parcels p JOIN lockers l ON l.id = p.locker_id
         WHERE p.state = 'stored' AND (p.destination_locker_id IS NOT NULL OR p.destination_site_id IS NOT NULL)
           AND (@sites IS NULL OR l.site_id IN (SELECT value FROM json_each(@sites)))
         ORDER BY p.locker_id, p.door`,
    ).all({ sites: sites && JSON.stringify(sites) }) as Array<
      TransitParcel & { sscc: string | null; site_id: string }
    >;
    const carried = cached(
      this.db,
      `SELECT p.*, l.site_id FROM parcels p JOIN lockers l ON l.id = p.locker_id WHERE p.state = 'in_transit' AND p.custody = ? ORDER BY p.id`,
    ).all(driverId) as Array<TransitParcel & { sscc: string | null; site_id: string }>;
    return {
      driver,
      collect: group(waiting, (p) => p.locker_id),
      deliver: group(carried, (p) => p.destination_locker_id ?? `site:${p.destination_site_id}`),
    };
  }

  /**
   * Sends a parcel elsewhere at its platform's (or an operator's) request: `to` a locker, or a
   * site (any of its lockers, chosen when the driver scans there). Before the goods leave, and in
   * the van, only its destination changes (a parcel for its own locker becomes one that travels);
   * ready at its destination and not collected, it waits again for a driver, its pickup code
   * stopped at once and working again at the new door once delivered. The target must have a
   * compartment of the parcel's class and size (free or not: the door is allocated on arrival).
   * A parcel collected, expired, held, on its way back to its producer, cannot be redirected.
   */
  redirect(
    parcelId: string,
    target: { lockerId?: string; siteId?: string },
    who: { actor: string; by: string },
    now: number,
  ): void {
    this.db
      .transaction(() => {
        const p = cached(this.db, 'SELECT * FROM parcels WHERE id = ?').get(parcelId) as
          | (TransitParcel & { homebound: number })
          | undefined;
        if (!p) throw new HubError('HUB_ERR_PARCEL_NOT_FOUND', `no parcel ${parcelId}`);
        const to = this.#target(target);
        if (!['reserved', 'stored', 'in_transit', 'ready'].includes(p.state) || p.homebound)
          throw new HubError(
            'HUB_ERR_INVALID_STATE',
            `parcel ${parcelId} is ${p.homebound ? 'on its way back to its producer' : p.state}: it can no longer be redirected`,
          );
        // A parcel sent to and fro is a customer told to and fro (and notices paid for): a few
        // changes of mind are a platform's; more are refused.
        const redirects = cached(
          this.db,
          `SELECT count(*) FROM events WHERE parcel_id = ? AND type = 'parcel.rerouted'
             AND json_extract(data, '$.reason') = 'redirected'`,
          'pluck',
        ).get(parcelId) as number;
        if (redirects >= MAX_REDIRECTS)
          throw new HubError(
            'HUB_ERR_CONFLICT',
            `parcel ${parcelId} was redirected ${redirects} times already, the most a parcel may be`,
          );
        // A door open for it right now (a delivery, a pickup): that move decides where it is.
        const busy = cached(
          this.db,
          "SELECT pending_action FROM compartments WHERE parcel_id = ? AND pending_action IN ('deliver', 'pickup')",
          'pluck',
        ).get(parcelId) as string | undefined;
        if (busy)
          throw new HubError(
            'HUB_ERR_CONFLICT',
            `parcel ${parcelId} has a door open for its ${busy}: try again`,
          );
        const travels = p.destination_locker_id !== null || p.destination_site_id !== null;
        if (
          travels &&
          p.destination_locker_id === to.lockerId &&
          (to.lockerId || p.destination_site_id === to.siteId)
        )
          return; // already going there: a request repeated changes nothing
        if (
          p.state !== 'in_transit' &&
          (to.lockerId ? to.lockerId === p.locker_id : to.siteId === this.#siteOf(p.locker_id))
        )
          throw new HubError(
            'HUB_ERR_INVALID_STATE',
            `parcel ${parcelId} is at ${to.lockerId ?? to.siteId} already`,
          );
        const fitting = SIZES.slice(SIZES.indexOf(p.size));
        const accepts = cached(
          this.db,
          `SELECT 1 FROM compartments c JOIN lockers l ON l.id = c.locker_id
             WHERE (c.locker_id = @lockerId OR (@lockerId IS NULL AND l.site_id = @siteId))
               AND c.temperature_class = @cls AND c.size IN (SELECT value FROM json_each(@sizes)) LIMIT 1`,
        ).get({ ...to, cls: p.temperature_class, sizes: JSON.stringify(fitting) });
        if (!accepts)
          throw new HubError(
            'HUB_ERR_NO_COMPARTMENT',
            `${to.lockerId ? `locker ${to.lockerId}` : `site ${to.siteId}`} has no ${p.temperature_class} compartment of size ${p.size} or larger`,
          );
        const from = travels
          ? {
              lockerId: p.destination_locker_id,
              siteId: p.destination_site_id ?? this.#siteOf(p.destination_locker_id as string),
            }
          : { lockerId: p.locker_id, siteId: this.#siteOf(p.locker_id) };
        const why = { reason: 'redirected' as const, by: who.by };
        if (p.state === 'ready') {
          this.codes.suspendPickup(parcelId);
          this.#states.move(parcelId, 'redirect', {
            actor: who.actor,
            at: now,
            data: { from, to, ...why },
            set: {
              destination_locker_id: to.lockerId,
              destination_site_id: to.lockerId ? null : to.siteId,
              ready_at: null,
            },
          });
          return;
        }
        // Stored for a customer at this locker: its code stops; it opens again at the new door.
        if (!travels) this.codes.suspendPickup(parcelId);
        this.#reroute(parcelId, from, to, now, who.actor, why);
      })
      .immediate();
  }

  /**
   * A customer sends back goods they collected: a new parcel, reserved where they deposit it (a
   * locker or site given, else the site they collected at), bound for its producer's box. It goes
   * through the chain as a parcel nobody collected does: deposited with the code `create` returns,
   * collected by a driver, delivered to its origin box (`returned`), taken out there by its
   * producer with a return code. It belongs to the original's platform and producer, so their
   * webhooks and token follow it; `parcel.customer_return` on the original names it. One return
   * at a time; a parcel that never left its producer's site has no chain to go back through.
   */
  customerReturn(
    originalId: string,
    where: { lockerId?: string; siteId?: string },
    actor: string,
    now: number,
    create: (input: CreateParcelInput) => {
      parcel: { id: string; lockerId: string; door: number };
      depositCode: string;
    },
    depositExpiresAt?: number,
  ): { id: string; depositCode: string } {
    return this.db
      .transaction(() => {
        const o = cached(this.db, 'SELECT * FROM parcels WHERE id = ?').get(originalId) as
          | (TransitParcel & {
              origin_locker_id: string | null;
              recipient: string;
              sscc: string | null;
              reference: string | null;
              producer_id: string | null;
              created_by: string;
            })
          | undefined;
        if (!o) throw new HubError('HUB_ERR_PARCEL_NOT_FOUND', `no parcel ${originalId}`);
        const at = where.lockerId || where.siteId ? this.#target(where) : undefined;
        if (o.state !== 'picked_up')
          throw new HubError(
            'HUB_ERR_INVALID_STATE',
            `parcel ${originalId} is ${o.state}: a customer returns goods they collected`,
          );
        const under = cached(
          this.db,
          `SELECT r.id FROM events e JOIN parcels r ON r.id = json_extract(e.data, '$.returnParcelId')
             WHERE e.parcel_id = ? AND e.type = 'parcel.customer_return'
               AND r.state NOT IN ('cancelled', 'expired', 'retrieved_by_producer', 'discarded')`,
          'pluck',
        ).get(originalId) as string | undefined;
        if (under)
          throw new HubError('HUB_ERR_CONFLICT', `parcel ${originalId} is being returned already (${under})`);
        const home = o.origin_locker_id ?? o.locker_id;
        const to = at ?? { lockerId: null, siteId: this.#siteOf(o.locker_id) };
        if (to.siteId === this.#siteOf(home))
          throw new HubError(
            'HUB_ERR_INVALID_STATE',
            `site ${to.siteId} is its producer's own: no driver takes goods from there to there`,
          );
        const created = create({
          ...(to.lockerId ? { lockerId: to.lockerId } : { siteId: to.siteId }),
          size: o.size,
          temperatureClass: o.temperature_class,
          ...(o.category ? { category: o.category as CreateParcelInput['category'] } : {}),
          recipient: JSON.parse(o.recipient),
          ...(o.sscc ? { sscc: o.sscc } : {}),
          ...(o.reference ? { reference: o.reference } : {}),
          ...(o.producer_id ? { producerId: o.producer_id } : {}),
          ...(depositExpiresAt ? { depositExpiresAt } : {}),
          destinationLockerId: home,
        });
        const id = created.parcel.id;
        // Homebound from the start: at its origin it is `returned`, for its producer, not `ready`.
        // Created by the original's creator: the platform's webhooks follow it.
        cached(this.db, 'UPDATE parcels SET homebound = 1, created_by = ? WHERE id = ?').run(
          o.created_by,
          id,
        );
        this.ledger.append({
          ts: now,
          type: 'parcel.customer_return',
          actor,
          lockerId: created.parcel.lockerId,
          door: created.parcel.door,
          parcelId: originalId,
          data: {
            returnParcelId: id,
            lockerId: created.parcel.lockerId,
            door: created.parcel.door,
            to: { lockerId: home, siteId: this.#siteOf(home) },
          },
        });
        return { id, depositCode: created.depositCode };
      })
      .immediate();
  }

  /** Where a redirect sends a parcel, checked: `{ lockerId, siteId }`, or `{ null, siteId }` for a site. */
  #target(t: { lockerId?: string; siteId?: string }): { lockerId: string | null; siteId: string } {
    if (t.lockerId) {
      const siteId = cached(this.db, 'SELECT site_id FROM lockers WHERE id = ?', 'pluck').get(t.lockerId) as
        | string
        | undefined;
      if (!siteId) throw new HubError('HUB_ERR_LOCKER_NOT_FOUND', `no locker ${t.lockerId}`);
      return { lockerId: t.lockerId, siteId };
    }
    if (!t.siteId || !cached(this.db, 'SELECT 1 FROM lockers WHERE site_id = ?').get(t.siteId))
      throw new HubError('HUB_ERR_SITE_NOT_FOUND', `no site ${t.siteId} (or it has no lockers)`);
    return { lockerId: null, siteId: t.siteId };
  }

  /** A label scanned at a cabinet while a driver is there. */
  scanned(lockerId: string, sscc: string, now: number, app?: { id: string; name: string }): Command[] {
    // From the driver app, the driver is known; from the cabinet's scanner, by their code typed there.
    if (app) this.#startSession(lockerId, app.id, now);
    const session = this.#session(lockerId);
    // A driver revoked or expired since they arrived: their session scans nothing more.
    const valid = cached(
      this.db,
      'SELECT 1 FROM drivers WHERE id = ? AND active = 1 AND (expires_at IS NULL OR expires_at > ?)',
    );
    if (!session || session.until < now || !valid.get(session.driverId, now)) return [];
    const actor = `driver:${session.driverId}`;
    const p = this.#byLabel(sscc, lockerId, session.driverId);
    const flag = (
      reason: string,
      extra: Record<string, unknown> = {},
      text = this.voice.say(lockerId, 'driver.check_parcel'),
    ) => {
      this.ledger.append({
        ts: now,
        type: 'transit.flag',
        actor,
        lockerId,
        // In the timeline of a parcel here or in this driver's hands only, not of any that carries the label.
        parcelId: p && (p.locker_id === lockerId || p.custody === session.driverId) ? p.id : null,
        data: { reason, sscc, driver: session.name, ...extra },
      });
      return [this.commands.create(lockerId, { type: 'display', text }, { kind: 'keypad' }, now)];
    };
    if (!p) return flag('unknown_parcel');
    const pending = cached(
      this.db,
      'SELECT pending_action FROM compartments WHERE locker_id = ? AND door = ?',
      'pluck',
    ).get(p.locker_id, p.door);
    if (
      (p.state === 'stored' || p.state === 'expired') &&
      p.locker_id === lockerId &&
      pending === 'collect'
    ) {
      cached(this.db, 'UPDATE parcels SET collect_scanned_at = ? WHERE id = ?').run(now, p.id);
      this.ledger.append({
        ts: now,
        type: 'transit.scanned',
        actor,
        lockerId,
        door: p.door,
        parcelId: p.id,
        data: { sscc, at: 'collection' },
      });
      return [];
    }
    if (p.state === 'in_transit' && p.custody === session.driverId && this.#destinedHere(p, lockerId))
      return this.#deliver(p, lockerId, session.driverId, now);
    // Theirs, for somewhere else (redirected since, or a wrong stop): the keypad says where.
    if (p.state === 'in_transit' && p.custody === session.driverId)
      return flag(
        'not_in_round',
        { parcelState: p.state, parcelLocker: p.locker_id },
        this.voice.say(lockerId, 'driver.goes_to', {
          place: p.destination_locker_id ?? p.destination_site_id ?? '?',
        }),
      );
    return flag('not_in_round', { parcelState: p.state, parcelLocker: p.locker_id });
  }

  /**
   * The parcel a label names here: one waiting at this cabinet, or one in this driver's custody.
   * An SSCC is whatever a platform says, so any platform can reuse another's: the newest parcel
   * carrying it anywhere would let a rival's cancelled parcel take the scans of the real one.
   * Failing those, a live parcel elsewhere, only to say why the label is not in the round.
   */
  #byLabel(sscc: string, lockerId: string, driverId: string): TransitParcel | undefined {
    return cached(
      this.db,
      `SELECT * FROM parcels WHERE sscc = ? AND state NOT IN ('cancelled', 'discarded')
         ORDER BY (locker_id = ? AND state IN ('stored', 'expired')) DESC,
                  (state = 'in_transit' AND custody = ?) DESC, created_at DESC
         LIMIT 1`,
    ).get(sscc, lockerId, driverId) as TransitParcel | undefined;
  }

  #siteOf(lockerId: string): string {
    return cached(this.db, 'SELECT site_id FROM lockers WHERE id = ?', 'pluck').get(lockerId) as string;
  }

  /**
   * Changes where a parcel goes, and says so in the ledger: `parcel.rerouted` with `from`, `to`
   * (each `{ lockerId, siteId }`), the reason and who asked. Its data is read by the customer's
   * notices and goes to the platform's webhooks as it is: keep its shape.
   */
  #reroute(
    parcelId: string,
    from: { lockerId: string | null; siteId: string | null },
    to: { lockerId: string | null; siteId: string },
    now: number,
    actor: string,
    why: { reason: 'destination_full' | 'redirected'; by?: string },
  ): void {
    cached(
      this.db,
      'UPDATE parcels SET destination_locker_id = ?, destination_site_id = ?, updated_at = ? WHERE id = ?',
    ).run(to.lockerId, to.lockerId ? null : to.siteId, now, parcelId);
    this.ledger.append({
      ts: now,
      type: 'parcel.rerouted',
      actor,
      lockerId: from.lockerId,
      parcelId,
      data: { from, to, ...why },
    });
  }

  #destinedHere(p: TransitParcel, lockerId: string): boolean {
    if (p.destination_locker_id) return p.destination_locker_id === lockerId;
    return (
      cached(this.db, 'SELECT site_id FROM lockers WHERE id = ?', 'pluck').get(lockerId) ===
      p.destination_site_id
    );
  }

  /**
   * Allocates a door at the destination now, and opens it. A full locker is the hub's to resolve,
   * not the driver's: the parcel is rerouted to another locker of the same site that takes it
   * (its destination changes in this transaction, so that locker expects it when the driver scans
   * there), and `parcel.rerouted` tells the platform and the customer's notices. Another site is
   * never chosen on its own: a customer in one town is not sent to another without being asked
   * (the platform may redirect it). Nothing at the site: the operator is flagged, the parcel stays
   * in the van.
   */
  #deliver(p: TransitParcel, lockerId: string, driverId: string, now: number): Command[] {
    const slot = freeCompartment(this.db, { lockerId }, p.temperature_class, p.size, p.category);
    if (!slot) {
      const siteId = this.#siteOf(lockerId);
      const other = freeCompartment(
        this.db,
        { siteId, exceptLocker: lockerId },
        p.temperature_class,
        p.size,
        p.category,
      )?.locker_id;
      const actor = `driver:${driverId}`;
      if (!other) {
        this.ledger.append({
          ts: now,
          type: 'transit.flag',
          actor,
          lockerId,
          parcelId: p.id,
          data: { reason: 'destination_full', alternative: null },
        });
        const text = this.voice.say(lockerId, 'driver.full_call');
        return [this.commands.create(lockerId, { type: 'display', text }, { kind: 'keypad' }, now)];
      }
      this.#reroute(p.id, { lockerId, siteId }, { lockerId: other, siteId }, now, actor, {
        reason: 'destination_full',
      });
      const text = this.voice.say(lockerId, 'driver.full_go', { locker: other });
      return [this.commands.create(lockerId, { type: 'display', text }, { kind: 'keypad' }, now)];
    }
    cached(this.db, 'UPDATE parcels SET locker_id = ?, door = ?, updated_at = ? WHERE id = ?').run(
      lockerId,
      slot.door,
      now,
      p.id,
    );
    const unlock = this.commands.create(
      lockerId,
      { type: 'unlock', door: slot.door },
      { kind: 'driver', driverId, parcelId: p.id, door: slot.door, action: 'deliver' },
      now,
    );
    this.#compartments.claim(lockerId, slot.door, p.id);
    this.#compartments.begin(lockerId, slot.door, 'deliver', unlock.id);
    this.ledger.append({
      ts: now,
      type: 'transit.scanned',
      actor: `driver:${driverId}`,
      lockerId,
      door: slot.door,
      parcelId: p.id,
      data: { at: 'delivery' },
    });
    return [
      unlock,
      this.commands.create(
        lockerId,
        { type: 'display', text: this.voice.say(lockerId, 'keypad.door_open', { door: slot.door }) },
        { kind: 'keypad' },
        now,
      ),
    ];
  }

  /** The door of a collection closed: scanned parcels are in the driver's custody; others are flagged. */
  collected(lockerId: string, door: number, parcelId: string, now: number): Command[] {
    const p = cached(this.db, 'SELECT * FROM parcels WHERE id = ?').get(parcelId) as
      | TransitParcel
      | undefined;
    const session = this.#session(lockerId);
    if (!p) return this.#next(lockerId, now);
    if (p.collect_scanned_at === null) {
      this.ledger.append({
        ts: now,
        type: 'transit.flag',
        actor: `device:${lockerId}`,
        lockerId,
        door,
        parcelId,
        data: { reason: 'not_scanned', driver: session?.name ?? null },
      });
      return this.#next(lockerId, now);
    }
    const returning = p.state === 'expired';
    const actor = `driver:${session?.driverId ?? 'unknown'}`;
    if (!this.#states.can(parcelId, 'collect')) {
      // Decided on while the door was open (discarded, retrieved): the goods left with the driver
      // all the same, and an operator has to know. (Quarantined meanwhile: collected, still held.)
      this.ledger.append({
        ts: now,
        type: 'transit.flag',
        actor,
        lockerId,
        door,
        parcelId,
        data: { reason: 'not_collectable', state: p.state, driver: session?.name ?? null },
      });
      return this.#next(lockerId, now);
    }
    const back = p as TransitParcel & { origin_locker_id: string | null };
    this.#states.move(parcelId, 'collect', {
      actor,
      at: now,
      lockerId,
      door,
      data: { driver: session?.name ?? null, returning },
      set: {
        custody: session?.driverId ?? null,
        // A customer's return is homebound from the start; an expired parcel becomes so now.
        homebound: returning || (p as TransitParcel & { homebound: number }).homebound ? 1 : 0,
        // An expired parcel goes back to where it started.
        ...(returning ? { destination_locker_id: back.origin_locker_id, destination_site_id: null } : {}),
      },
    });
    return this.#next(lockerId, now);
  }

  /** The door of a delivery closed: the parcel is ready and its pickup code opens this door. */
  delivered(lockerId: string, door: number, parcelId: string, now: number): void {
    const p = cached(this.db, 'SELECT * FROM parcels WHERE id = ?').get(parcelId) as
      | (TransitParcel & { homebound: number })
      | undefined;
    if (!p) throw new HubError('HUB_ERR_PARCEL_NOT_FOUND', `no parcel ${parcelId}`);
    const move = { actor: `device:${lockerId}`, at: now, lockerId, door, set: { custody: null } };
    if (p.homebound) {
      // Back at its origin: the producer takes it out with a code asked for through their app.
      if (this.#states.can(parcelId, 'bringBack'))
        this.#states.move(parcelId, 'bringBack', { ...move, data: { to: 'origin' } });
      return;
    }
    if (!this.#states.can(parcelId, 'deliver')) return;
    const code = this.codes.pendingPickup(parcelId);
    // Its pickup code now opens this door (held parcels too: the hold keeps it shut).
    if (code !== undefined) this.codes.activate(code, now + p.pickup_window_ms, { lockerId, door });
    this.#states.move(parcelId, 'deliver', { ...move, data: { pickupExpiresAt: now + p.pickup_window_ms } });
  }
}

interface DriverRow {
  id: string;
  name: string;
  sites: string | null;
  created_at: number;
  expires_at: number | null;
  active: number;
}
