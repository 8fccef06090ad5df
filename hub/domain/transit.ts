/**
 * Parcels that travel (SPEC §4): deposited at a rural box, collected by a driver, delivered to a
 * town locker. A driver's code at a box opens every door holding a parcel waiting for collection;
 * each parcel's label is scanned as it leaves; at the destination, scanning a parcel opens the
 * door allocated to it then (so a late round never holds a compartment for hours). Anything
 * unexpected is flagged at once, as a `transit.flag` event with a reason.
 */
import type { Command, Size, TemperatureClass } from '../../devices/index.ts';
import type { Ledger } from '../db/ledger.ts';
import { cached, type Db } from '../db/open.ts';
import { HubError } from '../errors.ts';
import { freeCompartment } from './allocation.ts';
import type { Codes } from './codes.ts';
import type { Commands } from './commands.ts';
import { newId } from './secrets.ts';

/** How long after a driver's code the scans at that cabinet are theirs. */
const SESSION_MS = 15 * 60_000;

interface TransitParcel {
  id: string;
  state: string;
  locker_id: string;
  door: number;
  size: Size;
  temperature_class: TemperatureClass;
  destination_locker_id: string | null;
  destination_site_id: string | null;
  collect_scanned_at: number | null;
  custody: string | null;
  pickup_window_ms: number;
}

export class Transit {
  readonly #sessions = new Map<
    string,
    { driverId: string; name: string; until: number; queue?: Array<{ id: string; door: number }> }
  >();

  constructor(
    private readonly db: Db,
    private readonly ledger: Ledger,
    private readonly codes: Codes,
    private readonly commands: Commands,
  ) {}

  createDriver(name: string, actor: string, now: number): { id: string; name: string; code: string } {
    const id = newId('DR');
    return this.db
      .transaction(() => {
        for (;;) {
          const code = this.codes.fresh();
          const hash = this.codes.hash(code);
          const taken = cached(
            this.db,
            `SELECT 1 FROM drivers WHERE code_hash = ? UNION ALL SELECT 1 FROM codes WHERE hash = ? AND state IN ('pending', 'active')`,
          );
          if (taken.get(hash, hash)) continue;
          cached(this.db, 'INSERT INTO drivers (id, name, code_hash, created_at) VALUES (?, ?, ?, ?)').run(
            id,
            name,
            hash,
            now,
          );
          this.ledger.append({ ts: now, type: 'driver.created', actor, data: { id, name } });
          return { id, name, code };
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

  driverByCode(code: string): { id: string; name: string } | undefined {
    return cached(this.db, 'SELECT id, name FROM drivers WHERE code_hash = ? AND active = 1').get(
      this.codes.hash(code),
    ) as { id: string; name: string } | undefined;
  }

  /** A driver typed their code at a cabinet: open the doors of the parcels waiting to leave. */
  driverArrived(lockerId: string, driver: { id: string; name: string }, now: number): Command[] {
    this.#sessions.set(lockerId, { driverId: driver.id, name: driver.name, until: now + SESSION_MS });
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
    const session = this.#sessions.get(lockerId);
    if (session)
      session.queue = (mode === 'all' ? [] : waiting.slice(1)).map((p) => ({ id: p.id, door: p.door }));
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
      ? `Collect: ${waiting.length} door(s) open`
      : deliver
        ? `Scan ${deliver} parcel(s) to deliver`
        : 'Nothing for you here';
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
    cached(
      this.db,
      `UPDATE compartments SET pending_action = 'collect', pending_command = ?, pending_opened = 0 WHERE locker_id = ? AND door = ?`,
    ).run(unlock.id, lockerId, p.door);
    return unlock;
  }

  /** The next door of a one-after-another collection, if any. */
  #next(lockerId: string, now: number): Command[] {
    const session = this.#sessions.get(lockerId);
    const next = session?.queue?.shift();
    return session && next ? [this.#openForCollection(lockerId, session.driverId, next, now)] : [];
  }

  /** What a driver has to do: parcels waiting at each box, and those they carry, by destination. */
  round(driverId: string) {
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
    const waiting = cached(
      this.db,
      `SELECT p.*, l.site_id FROM parcels p JOIN lockers l ON l.id = p.locker_id
         WHERE p.state = 'stored' AND (p.destination_locker_id IS NOT NULL OR p.destination_site_id IS NOT NULL) ORDER BY p.locker_id, p.door`,
    ).all() as Array<TransitParcel & { sscc: string | null; site_id: string }>;
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

  /** A label scanned at a cabinet while a driver is there. */
  scanned(lockerId: string, sscc: string, now: number, app?: { id: string; name: string }): Command[] {
    // From the driver app, the driver is known; from the cabinet's scanner, by their code typed there.
    if (app) this.#sessions.set(lockerId, { driverId: app.id, name: app.name, until: now + SESSION_MS });
    const session = this.#sessions.get(lockerId);
    if (!session || session.until < now) return [];
    const actor = `driver:${session.driverId}`;
    const p = cached(this.db, 'SELECT * FROM parcels WHERE sscc = ? ORDER BY created_at DESC LIMIT 1').get(
      sscc,
    ) as TransitParcel | undefined;
    const flag = (reason: string, extra: Record<string, unknown> = {}) => {
      this.ledger.append({
        ts: now,
        type: 'transit.flag',
        actor,
        lockerId,
        parcelId: p?.id ?? null,
        data: { reason, sscc, driver: session.name, ...extra },
      });
      return [
        this.commands.create(
          lockerId,
          { type: 'display', text: 'Check this parcel' },
          { kind: 'keypad' },
          now,
        ),
      ];
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
    return flag('not_in_round', { parcelState: p.state, parcelLocker: p.locker_id });
  }

  #destinedHere(p: TransitParcel, lockerId: string): boolean {
    if (p.destination_locker_id) return p.destination_locker_id === lockerId;
    return (
      cached(this.db, 'SELECT site_id FROM lockers WHERE id = ?', 'pluck').get(lockerId) ===
      p.destination_site_id
    );
  }

  /** Allocates a door at the destination now, and opens it; a full locker is told, with the nearest alternative. */
  #deliver(p: TransitParcel, lockerId: string, driverId: string, now: number): Command[] {
    const slot = freeCompartment(this.db, { lockerId }, p.temperature_class, p.size);
    if (!slot) {
      const siteId = cached(this.db, 'SELECT site_id FROM lockers WHERE id = ?', 'pluck').get(
        lockerId,
      ) as string;
      const other = freeCompartment(
        this.db,
        { siteId, exceptLocker: lockerId },
        p.temperature_class,
        p.size,
      )?.locker_id;
      this.ledger.append({
        ts: now,
        type: 'transit.flag',
        actor: `driver:${driverId}`,
        lockerId,
        parcelId: p.id,
        data: { reason: 'destination_full', alternative: other ?? null },
      });
      const text = other ? `Full: use locker ${other}` : 'Full: call the operator';
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
    cached(
      this.db,
      `UPDATE compartments SET parcel_id = ?, pending_action = 'deliver', pending_command = ?, pending_opened = 0 WHERE locker_id = ? AND door = ?`,
    ).run(p.id, unlock.id, lockerId, slot.door);
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
        { type: 'display', text: `Door ${slot.door} open` },
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
    const session = this.#sessions.get(lockerId);
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
    const r = returning ? 1 : 0;
    cached(
      this.db,
      `UPDATE parcels SET state = 'in_transit', custody = ?, in_transit_at = ?, updated_at = ?,
           homebound = ?, destination_locker_id = CASE WHEN ? THEN origin_locker_id ELSE destination_locker_id END,
           destination_site_id = CASE WHEN ? THEN NULL ELSE destination_site_id END
         WHERE id = ? AND state IN ('stored', 'expired')`,
    ).run(session?.driverId ?? null, now, now, r, r, r, parcelId);
    cached(this.db, 'UPDATE compartments SET parcel_id = NULL WHERE locker_id = ? AND door = ?').run(
      lockerId,
      door,
    );
    this.ledger.append({
      ts: now,
      type: 'parcel.in_transit',
      actor: `driver:${session?.driverId ?? 'unknown'}`,
      lockerId,
      door,
      parcelId,
      data: { driver: session?.name ?? null, returning },
    });
    return this.#next(lockerId, now);
  }

  /** The door of a delivery closed: the parcel is ready and its pickup code opens this door. */
  delivered(lockerId: string, door: number, parcelId: string, now: number): void {
    const p = cached(this.db, 'SELECT * FROM parcels WHERE id = ?').get(parcelId) as
      | (TransitParcel & { homebound: number })
      | undefined;
    if (!p) throw new HubError('HUB_ERR_PARCEL_NOT_FOUND', `no parcel ${parcelId}`);
    if (p.homebound) {
      // Back at its origin: the producer takes it out with a code asked for through their app.
      cached(
        this.db,
        `UPDATE parcels SET state = 'returned', custody = NULL, updated_at = ? WHERE id = ?`,
      ).run(now, parcelId);
      this.ledger.append({
        ts: now,
        type: 'parcel.returned',
        actor: `device:${lockerId}`,
        lockerId,
        door,
        parcelId,
        data: { to: 'origin' },
      });
      return;
    }
    cached(
      this.db,
      `UPDATE parcels SET state = 'ready', ready_at = ?, custody = NULL, updated_at = ? WHERE id = ?`,
    ).run(now, now, parcelId);
    const code = this.codes.pendingPickup(parcelId);
    if (code !== undefined) {
      cached(this.db, 'UPDATE codes SET locker_id = ?, door = ? WHERE id = ?').run(lockerId, door, code);
      this.codes.activate(code, now + p.pickup_window_ms);
    }
    this.ledger.append({
      ts: now,
      type: 'parcel.ready',
      actor: `device:${lockerId}`,
      lockerId,
      door,
      parcelId,
      data: { pickupExpiresAt: now + p.pickup_window_ms },
    });
  }
}
