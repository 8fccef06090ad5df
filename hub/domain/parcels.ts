/**
 * Parcels at a single locker (deposit → pickup): creation with compartment allocation and
 * codes, and the read side for the API and command line.
 */
import { z } from 'zod';
import { PARCEL_STATES, type ParcelState } from '../../devices/api.ts';
import {
  isValidSscc,
  LANGUAGES,
  type Language,
  PRODUCT_CATEGORIES,
  type ProductCategory,
  productCategory,
  type Size,
  size,
  type TemperatureClass,
  temperatureClass,
} from '../../devices/index.ts';
import type { Ledger } from '../db/ledger.ts';
import { cached, type Db } from '../db/open.ts';
import { HubError } from '../errors.ts';
import { freeCompartment } from './allocation.ts';
import type { Codes } from './codes.ts';
import { Compartments } from './compartments.ts';
import { newId } from './secrets.ts';

// The states are part of the API's contract (devices/api.ts): the dashboard and webhooks read them.
export { PARCEL_STATES, type ParcelState };

const DAY = 86_400_000;

export const createParcelInput = z
  .object({
    lockerId: z.string().optional(),
    siteId: z.string().optional(),
    size,
    temperatureClass,
    /** What it holds: its own legal limits, tighter than its class's (PRODUCT_CATEGORIES). */
    category: productCategory.optional(),
    recipient: z.object({
      name: z.string().min(1).max(120),
      phone: z.string().max(32).optional(),
      email: z.email().optional(),
      /** The language their page and notices are in; default: the destination site's. */
      language: z.enum(LANGUAGES).optional(),
    }),
    sscc: z.string().refine(isValidSscc, 'must be 18 digits with a valid GS1 check digit').optional(),
    reference: z.string().max(120).optional(),
    /** A parcel that travels: deposited at the origin (lockerId/siteId), collected by a driver, delivered here. */
    destinationLockerId: z.string().optional(),
    destinationSiteId: z.string().optional(),
    /** The producer who deposits it: their token sees it and its receipt. */
    producerId: z.string().max(64).optional(),
    /** Deadline for the producer's deposit (epoch ms); default 7 days. */
    depositExpiresAt: z.number().int().positive().optional(),
    /** How long the customer has to collect once the goods are in; default 72 h. */
    pickupWindowHours: z
      .number()
      .positive()
      .max(24 * 30)
      .optional(),
  })
  .strict()
  .refine((v) => !!v.lockerId !== !!v.siteId, {
    message: 'give exactly one of lockerId and siteId',
    path: ['lockerId'],
  })
  .refine((v) => !(v.destinationLockerId && v.destinationSiteId), {
    message: 'give at most one of destinationLockerId and destinationSiteId',
    path: ['destinationLockerId'],
  })
  .refine((v) => !v.category || PRODUCT_CATEGORIES[v.category].temperatureClass === v.temperatureClass, {
    message: 'this category needs another temperature class',
    path: ['category'],
  });

export type CreateParcelInput = z.infer<typeof createParcelInput>;

export interface ParcelRow {
  id: string;
  locker_id: string;
  door: number;
  size: string;
  temperature_class: string;
  category: string | null;
  state: ParcelState;
  recipient: string;
  sscc: string | null;
  reference: string | null;
  created_by: string;
  created_at: number;
  updated_at: number;
  deposit_expires_at: number;
  pickup_window_ms: number;
  stored_at: number | null;
  picked_up_at: number | null;
  destination_locker_id: string | null;
  destination_site_id: string | null;
  custody: string | null;
  in_transit_at: number | null;
  ready_at: number | null;
  producer_id: string | null;
}

export function parcelView(r: ParcelRow & { site_id: string }) {
  return {
    id: r.id,
    state: r.state,
    siteId: r.site_id,
    lockerId: r.locker_id,
    door: r.door,
    size: r.size as Size,
    temperatureClass: r.temperature_class as TemperatureClass,
    category: r.category as ProductCategory | null,
    recipient: JSON.parse(r.recipient) as {
      name: string;
      phone?: string;
      email?: string;
      language?: Language;
    },
    sscc: r.sscc,
    reference: r.reference,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    depositExpiresAt: r.deposit_expires_at,
    storedAt: r.stored_at,
    // A travelling parcel's pickup window opens when it is ready at its destination.
    pickupExpiresAt:
      r.destination_locker_id || r.destination_site_id
        ? r.ready_at === null
          ? null
          : r.ready_at + r.pickup_window_ms
        : r.stored_at === null
          ? null
          : r.stored_at + r.pickup_window_ms,
    pickedUpAt: r.picked_up_at,
    destination:
      r.destination_locker_id || r.destination_site_id
        ? { lockerId: r.destination_locker_id, siteId: r.destination_site_id }
        : null,
    custody: r.custody,
    producerId: r.producer_id,
    inTransitAt: r.in_transit_at,
    readyAt: r.ready_at,
  };
}
export type ParcelView = ReturnType<typeof parcelView>;

export class Parcels {
  constructor(
    private readonly db: Db,
    private readonly ledger: Ledger,
    private readonly codes: Codes,
    private readonly now: () => number,
    /** The hash of a parcel's customer link (hub/domain/customer-links.ts), kept with the parcel. */
    private readonly linkHash: (parcelId: string) => string | null = () => null,
  ) {}

  /**
   * Reserves the smallest free compartment of the right class that fits, and issues the deposit
   * code (valid now) and the pickup code (valid only once the goods are in).
   */
  create(
    input: CreateParcelInput,
    actor: string,
    owner: {
      /** The platform it belongs to (access.ts), null for an operator's. */
      tenant: string | null;
      /** Checks the reservation against the creator's quotas, in the transaction, once its site is known. */
      admit?: (siteId: string, depositExpiresAt: number) => void;
    } = { tenant: null },
  ) {
    const now = this.now();
    const depositExpiresAt = input.depositExpiresAt ?? now + 7 * DAY;
    if (depositExpiresAt <= now) throw new HubError('HUB_ERR_VALIDATION', 'depositExpiresAt is in the past');
    const windowMs = Math.round((input.pickupWindowHours ?? 72) * 3_600_000);
    const destination = this.#destination(input);
    if (input.producerId && !cached(this.db, 'SELECT 1 FROM producers WHERE id = ?').get(input.producerId)) {
      throw new HubError('HUB_ERR_VALIDATION', `no producer ${input.producerId}`);
    }
    return this.db
      .transaction(() => {
        const site =
          input.siteId ??
          (cached(this.db, 'SELECT site_id FROM lockers WHERE id = ?', 'pluck').get(input.lockerId) as
            | string
            | undefined);
        // Quotas first: a platform past its quota learns so whether or not a door is free.
        if (site !== undefined) owner.admit?.(site, depositExpiresAt);
        const slot = this.#allocate(input);
        const id = newId('P');
        cached(
          this.db,
          `INSERT INTO parcels (id, locker_id, door, size, temperature_class, state, recipient, sscc, reference,
               created_by, created_at, updated_at, deposit_expires_at, pickup_window_ms, destination_locker_id, destination_site_id, producer_id,
               origin_locker_id, category, tenant, link_hash)
             VALUES (?, ?, ?, ?, ?, 'reserved', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          id,
          slot.locker_id,
          slot.door,
          input.size,
          input.temperatureClass,
          JSON.stringify(input.recipient),
          input.sscc ?? null,
          input.reference ?? null,
          actor,
          now,
          now,
          depositExpiresAt,
          windowMs,
          destination.lockerId,
          destination.siteId,
          input.producerId ?? null,
          slot.locker_id,
          input.category ?? null,
          owner.tenant,
          this.linkHash(id),
        );
        new Compartments(this.db).claim(slot.locker_id, slot.door, id);
        const offlineKey = this.codes.offlineKeyOf(slot.locker_id);
        const base = { parcelId: id, lockerId: slot.locker_id, door: slot.door, offlineKey };
        const deposit = this.codes.issue({
          ...base,
          kind: 'deposit',
          state: 'active',
          expiresAt: depositExpiresAt,
        });
        const pickup = this.codes.issue({ ...base, kind: 'pickup', state: 'pending', expiresAt: null });
        this.ledger.append({
          ts: now,
          type: 'parcel.reserved',
          actor,
          lockerId: slot.locker_id,
          door: slot.door,
          parcelId: id,
          data: {
            size: input.size,
            temperatureClass: input.temperatureClass,
            compartmentSize: slot.size,
            sscc: input.sscc ?? null,
          },
        });
        return { parcel: this.get(id), depositCode: deposit.code, pickupCode: pickup.code };
      })
      .immediate();
  }

  #destination(input: CreateParcelInput): { lockerId: string | null; siteId: string | null } {
    if (input.destinationLockerId) {
      if (!cached(this.db, 'SELECT 1 FROM lockers WHERE id = ?').get(input.destinationLockerId)) {
        throw new HubError('HUB_ERR_LOCKER_NOT_FOUND', `no destination locker ${input.destinationLockerId}`);
      }
      return { lockerId: input.destinationLockerId, siteId: null };
    }
    if (input.destinationSiteId) {
      if (!cached(this.db, 'SELECT 1 FROM lockers WHERE site_id = ?').get(input.destinationSiteId)) {
        throw new HubError(
          'HUB_ERR_SITE_NOT_FOUND',
          `no destination site ${input.destinationSiteId} (or it has no lockers)`,
        );
      }
      return { lockerId: null, siteId: input.destinationSiteId };
    }
    return { lockerId: null, siteId: null };
  }

  #allocate(input: CreateParcelInput): { locker_id: string; door: number; size: string } {
    const where = input.lockerId ? 'l.id = ?' : 'l.site_id = ?';
    const target = (input.lockerId ?? input.siteId) as string;
    const exists = this.db.prepare(`SELECT 1 FROM lockers l WHERE ${where}`).get(target);
    if (!exists) {
      throw input.lockerId
        ? new HubError('HUB_ERR_LOCKER_NOT_FOUND', `no locker ${target}`)
        : new HubError('HUB_ERR_SITE_NOT_FOUND', `no site ${target} (or it has no lockers)`);
    }
    const scope = input.lockerId ? { lockerId: input.lockerId } : { siteId: target };
    const slot = freeCompartment(this.db, scope, input.temperatureClass, input.size, input.category);
    if (!slot) {
      const limit = input.category ? ` reading ${PRODUCT_CATEGORIES[input.category].maxC} °C or less` : '';
      throw new HubError(
        'HUB_ERR_NO_COMPARTMENT',
        `no free ${input.temperatureClass} compartment of size ${input.size} or larger${limit} at ${input.lockerId ? 'locker' : 'site'} ${target}`,
      );
    }
    return slot;
  }

  /**
   * A code for the producer to take back a parcel returned to its box, valid 7 days. Any earlier
   * one stops working: only the latest code shown opens the door.
   */
  issueReturnCode(
    id: string,
    actor: string,
    now: number,
  ): { code: string; lockerId: string; door: number; expiresAt: number } {
    const expiresAt = now + 7 * DAY;
    return this.db
      .transaction(() => {
        const p = this.get(id);
        if (p.state !== 'returned')
          throw new HubError('HUB_ERR_INVALID_STATE', `parcel ${id} is ${p.state}, not returned`);
        // Taken out by an operator (returned too): its door is free, and may hold another parcel by now.
        if (
          !cached(
            this.db,
            'SELECT 1 FROM compartments WHERE locker_id = ? AND door = ? AND parcel_id = ?',
          ).get(p.lockerId, p.door, id)
        )
          throw new HubError('HUB_ERR_INVALID_STATE', `parcel ${id} was taken out of its box by an operator`);
        this.codes.revokeLive(id, 'pickup');

        const { code } = this.codes.issue({
          parcelId: id,
          lockerId: p.lockerId,
          door: p.door,
          kind: 'pickup',
          purpose: 'return',
          state: 'active',
          expiresAt,
          offlineKey: this.codes.offlineKeyOf(p.lockerId),
        });
        this.ledger.append({
          ts: now,
          type: 'code.issued',
          actor,
          lockerId: p.lockerId,
          door: p.door,
          parcelId: id,
          data: { kind: 'return', expiresAt },
        });
        return { code, lockerId: p.lockerId, door: p.door, expiresAt };
      })
      .immediate();
  }

  get(id: string): ParcelView {
    const row = cached(
      this.db,
      'SELECT p.*, l.site_id FROM parcels p JOIN lockers l ON l.id = p.locker_id WHERE p.id = ?',
    ).get(id) as (ParcelRow & { site_id: string }) | undefined;
    if (!row) throw new HubError('HUB_ERR_PARCEL_NOT_FOUND', `no parcel ${id}`);
    return parcelView(row);
  }

  list(filter: {
    state?: ParcelState;
    lockerId?: string;
    sscc?: string;
    producerId?: string;
    /** The platform's parcels only (access.ts). */
    tenant?: string;
    /** At these sites only. */
    sites?: readonly string[];
    reference?: string;
    /** Free search: the parcel id, its SSCC or reference exactly, or part of the recipient's name, email or phone. */
    q?: string;
    limit?: number;
    before?: number;
  }): ParcelView[] {
    const clauses: string[] = [];
    const args: unknown[] = [];
    if (filter.state) clauses.push('p.state = ?') && args.push(filter.state);
    if (filter.lockerId) clauses.push('p.locker_id = ?') && args.push(filter.lockerId);
    if (filter.sscc) clauses.push('p.sscc = ?') && args.push(filter.sscc);
    if (filter.producerId) clauses.push('p.producer_id = ?') && args.push(filter.producerId);
    if (filter.tenant) clauses.push('p.tenant = ?') && args.push(filter.tenant);
    if (filter.sites) {
      clauses.push(`l.site_id IN (SELECT value FROM json_each(?))`);
      args.push(JSON.stringify(filter.sites));
    }
    if (filter.reference) clauses.push('p.reference = ?') && args.push(filter.reference);
    if (filter.before) clauses.push('p.created_at < ?') && args.push(filter.before);
    if (filter.q) {
      const like = `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      clauses.push(
        `(p.id = ? OR p.sscc = ? OR p.reference = ? OR json_extract(p.recipient, '$.name') LIKE ? ESCAPE '\\'
          OR json_extract(p.recipient, '$.email') LIKE ? ESCAPE '\\' OR json_extract(p.recipient, '$.phone') LIKE ? ESCAPE '\\')`,
      );
      args.push(filter.q, filter.q, filter.q, like, like, like);
    }
    const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
    const rows = this.db
      .prepare(
        `SELECT p.*, l.site_id FROM parcels p JOIN lockers l ON l.id = p.locker_id ${where}
         ORDER BY p.created_at DESC, p.id DESC LIMIT ?`,
      )
      .all(...args, filter.limit ?? 100) as Array<ParcelRow & { site_id: string }>;
    return rows.map(parcelView);
  }

  /** The state of the parcel's codes (codes.ts), never the codes. */
  codesOf(id: string, now: number) {
    return this.codes.ofParcel(id, now);
  }

  timeline(id: string) {
    this.get(id);
    return cached(
      this.db,
      'SELECT seq, ts, type, actor, locker_id, door, data FROM events WHERE parcel_id = ? ORDER BY seq',
    )
      .all(id)
      .map((r) => {
        const e = r as {
          seq: number;
          ts: number;
          type: string;
          actor: string;
          locker_id: string | null;
          door: number | null;
          data: string;
        };
        return {
          seq: e.seq,
          ts: e.ts,
          type: e.type,
          actor: e.actor,
          lockerId: e.locker_id,
          door: e.door,
          data: JSON.parse(e.data),
        };
      });
  }
}
