/**
 * Extending a parcel's pickup window: by its customer from their page, within their site's policy
 * (`sites.extend_hours`, at most `sites.extend_times` times), or by the ordering platform over the
 * API, within the hub's bounds. The window, the pickup code's deadline (and so the cabinet's
 * offline table) and the ledger move together.
 */
import type { Ledger } from '../db/ledger.ts';
import { cached, type Db } from '../db/open.ts';
import { HubError } from '../errors.ts';
import type { Codes } from './codes.ts';
import type { Parcels, ParcelView } from './parcels.ts';

const HOUR = 3_600_000;

export const EXTEND_LIMITS = {
  /** One extension over the API adds at most a week, as a site's policy may per customer extension. */
  maxHoursPerCall: 24 * 7,
  /**
   * A window, extended however often, is never longer than the longest a platform may ask for
   * when it creates the parcel (`pickupWindowHours` ≤ 30 days): the goods hold a door meanwhile,
   * and fresh food kept longer than that is no longer a pickup but a store.
   */
  maxWindowMs: 30 * 24 * HOUR,
} as const;

/** Who extended: the customer (their page, by the site's policy) or a platform or operator token. */
export type ExtendedBy = 'customer' | 'integration' | 'operator';

/** Whether the customer may extend now, and by how much; `left`: extensions still allowed. */
export interface CustomerExtension {
  hours: number;
  left: number;
}

export class PickupWindows {
  constructor(
    private readonly db: Db,
    private readonly ledger: Ledger,
    private readonly codes: Codes,
    private readonly parcels: Parcels,
  ) {}

  /**
   * What the customer's page may offer: null when the parcel is not waiting for its customer (its
   * window not open, ended, or held), the site allows no (more) extension, or one more would pass
   * the longest window.
   */
  customerPolicy(parcelId: string, now: number): CustomerExtension | null {
    const p = this.parcels.get(parcelId);
    if (!waiting(p, now)) return null;
    const { hours, times, extensions, window } = this.#policy(p);
    const left = times - extensions;
    if (left <= 0 || window + hours * HOUR > EXTEND_LIMITS.maxWindowMs) return null;
    return { hours, left };
  }

  /** The customer adds their site's `extend_hours`, if its policy allows one more; 409 otherwise. */
  extendByCustomer(parcelId: string, now: number): ParcelView {
    return this.db
      .transaction(() => {
        const p = this.parcels.get(parcelId);
        this.#mustWait(p, now);
        const { hours, times, extensions } = this.#policy(p);
        if (extensions >= times)
          throw new HubError(
            'HUB_ERR_INVALID_STATE',
            times === 0
              ? `site ${p.siteId} lets no customer extend their pickup window`
              : `the pickup window of parcel ${parcelId} was already extended ${extensions} times, the site's most`,
          );
        return this.#extend(p, hours, 'customer', 'customer', now);
      })
      .immediate();
  }

  /** A platform or operator adds `hours` (whole, ≤ a week), whatever the site's customer policy. */
  extend(parcelId: string, hours: number, by: Exclude<ExtendedBy, 'customer'>, actor: string, now: number) {
    if (!(Number.isInteger(hours) && hours >= 1 && hours <= EXTEND_LIMITS.maxHoursPerCall))
      throw new HubError(
        'HUB_ERR_VALIDATION',
        `hours must be a whole number from 1 to ${EXTEND_LIMITS.maxHoursPerCall}`,
      );
    return this.db
      .transaction(() => {
        const p = this.parcels.get(parcelId);
        this.#mustWait(p, now);
        return this.#extend(p, hours, by, actor, now);
      })
      .immediate();
  }

  #extend(p: ParcelView, hours: number, by: ExtendedBy, actor: string, now: number): ParcelView {
    const addMs = Math.round(hours * HOUR);
    const { window } = this.#policy(p);
    if (window + addMs > EXTEND_LIMITS.maxWindowMs)
      throw new HubError(
        'HUB_ERR_INVALID_STATE',
        `the pickup window of parcel ${p.id} would pass ${EXTEND_LIMITS.maxWindowMs / (24 * HOUR)} days`,
      );
    const pickupExpiresAt = (p.pickupExpiresAt as number) + addMs;
    // A reminder already sent was about the old deadline: the new one gets its own.
    cached(
      this.db,
      `UPDATE parcels SET pickup_window_ms = pickup_window_ms + ?, extensions = extensions + ?,
         reminded_at = NULL, updated_at = ? WHERE id = ?`,
    ).run(addMs, by === 'customer' ? 1 : 0, now, p.id);
    this.codes.extendPickup(p.id, pickupExpiresAt);
    this.ledger.append({
      ts: now,
      type: 'parcel.extended',
      actor,
      lockerId: p.lockerId,
      door: p.door,
      parcelId: p.id,
      data: { by, hours, pickupExpiresAt },
    });
    return this.parcels.get(p.id);
  }

  #mustWait(p: ParcelView, now: number): void {
    if (waiting(p, now)) return;
    throw new HubError(
      'HUB_ERR_INVALID_STATE',
      p.pickupExpiresAt !== null && p.pickupExpiresAt <= now && (p.state === 'stored' || p.state === 'ready')
        ? `the pickup window of parcel ${p.id} has ended`
        : `parcel ${p.id} is ${p.state}${p.state === 'stored' && p.pickupExpiresAt === null ? ' at its origin' : ''}: its pickup window is not open`,
    );
  }

  #policy(p: ParcelView): { hours: number; times: number; extensions: number; window: number } {
    const row = cached(
      this.db,
      `SELECT s.extend_hours AS hours, s.extend_times AS times, p.extensions, p.pickup_window_ms AS window
       FROM parcels p JOIN lockers l ON l.id = p.locker_id JOIN sites s ON s.id = l.site_id WHERE p.id = ?`,
    ).get(p.id) as { hours: number; times: number; extensions: number; window: number };
    return row;
  }
}

/** Waiting for its customer: in its pickup locker, its window open and not over. */
function waiting(p: ParcelView, now: number): boolean {
  return (
    (p.state === 'stored' || p.state === 'ready') && p.pickupExpiresAt !== null && p.pickupExpiresAt > now
  );
}
