/**
 * What a token may see and act on, beyond its role: its sites (an operator of one region, a
 * driver's round), its platform (an integration sees the parcels and producers it created, not
 * another platform's), and how much it may reserve. Something outside a token's scope does not
 * exist as far as that token can tell: the same 404 as an unknown id, so ids cannot be probed.
 */
import { cached, type Db } from '../db/open.ts';
import { HubError } from '../errors.ts';
import type { TokenPrincipal } from './provisioning.ts';

const DAY = 86_400_000;

/**
 * Reservation quotas of an integration at one site. Without one, a single platform token held a
 * whole site until the year 3000: every door reserved, no deposit ever due.
 */
export const RESERVATIONS = {
  /** Parcels waiting for their deposit a platform may hold at a site, as a share of its compartments. */
  defaultShare: 0.75,
  /** The latest a deposit may be due: a reservation longer than this is refused. */
  maxDepositWindowMs: 14 * DAY,
} as const;

export class Access {
  constructor(private readonly db: Db) {}

  siteOf(lockerId: string): string | undefined {
    return cached(this.db, 'SELECT site_id FROM lockers WHERE id = ?', 'pluck').get(lockerId) as
      | string
      | undefined;
  }

  mayUseSite(p: TokenPrincipal, siteId: string): boolean {
    return p.sites === null || p.sites.includes(siteId);
  }

  /** A site this token may use, or the 404 an unknown site gets. */
  site(p: TokenPrincipal, siteId: string): string {
    if (!this.mayUseSite(p, siteId)) throw new HubError('HUB_ERR_SITE_NOT_FOUND', `no site ${siteId}`);
    return siteId;
  }

  /** A locker this token may use (its site), or the 404 an unknown locker gets. */
  locker(p: TokenPrincipal, lockerId: string): string {
    const site = this.siteOf(lockerId);
    if (site === undefined || !this.mayUseSite(p, site))
      throw new HubError('HUB_ERR_LOCKER_NOT_FOUND', `no locker ${lockerId}`);
    return site;
  }

  /** Whether this token may see the parcel: its producer's, its platform's, at its sites. */
  maySeeParcel(
    p: TokenPrincipal,
    parcel: { producerId: string | null; siteId: string; id: string },
  ): boolean {
    if (!this.mayUseSite(p, parcel.siteId)) return false;
    switch (p.role) {
      case 'operator':
        return true;
      case 'producer':
        return parcel.producerId === p.subject;
      case 'integration':
        return this.tenantOf(parcel.id) === p.subject;
      case 'driver':
        return false;
    }
  }

  parcel<P extends { producerId: string | null; siteId: string; id: string }>(
    p: TokenPrincipal,
    parcel: P,
  ): P {
    if (!this.maySeeParcel(p, parcel))
      throw new HubError('HUB_ERR_PARCEL_NOT_FOUND', `no parcel ${parcel.id}`);
    return parcel;
  }

  /** The list filter that keeps a token to its own parcels. */
  parcelFilter(p: TokenPrincipal): { producerId?: string; tenant?: string; sites?: readonly string[] } {
    const sites = p.sites ?? undefined;
    if (p.role === 'producer') return { producerId: p.subject ?? '-', sites };
    if (p.role === 'integration') return { tenant: p.subject ?? '-', sites };
    return { sites };
  }

  tenantOf(parcelId: string): string | null {
    return (
      (cached(this.db, 'SELECT tenant FROM parcels WHERE id = ?', 'pluck').get(parcelId) as string | null) ??
      null
    );
  }

  /** The platform a new parcel belongs to: an operator's belong to none. */
  tenant(p: TokenPrincipal): string | null {
    return p.role === 'integration' ? (p.subject ?? p.id) : null;
  }

  /** An integration may order parcels only for the producers it created. */
  producer(p: TokenPrincipal, producerId: string): void {
    if (p.role !== 'integration') return;
    const tenant = cached(this.db, 'SELECT tenant FROM producers WHERE id = ?', 'pluck').get(producerId);
    if (tenant !== p.subject) throw new HubError('HUB_ERR_VALIDATION', `no producer ${producerId}`);
  }

  /**
   * Checks a new reservation at `siteId` against the token's quotas, inside the creating
   * transaction (so two requests at once cannot both take the last place).
   */
  reservation(p: TokenPrincipal, siteId: string, depositExpiresAt: number, now: number): void {
    if (p.role !== 'integration') return;
    if (depositExpiresAt - now > RESERVATIONS.maxDepositWindowMs)
      throw new HubError(
        'HUB_ERR_QUOTA',
        `a deposit may be due at most ${RESERVATIONS.maxDepositWindowMs / DAY} days ahead`,
      );
    const held = cached(
      this.db,
      `SELECT count(*) FROM parcels p JOIN lockers l ON l.id = p.locker_id
         WHERE p.tenant = ? AND l.site_id = ? AND p.state = 'reserved'`,
      'pluck',
    ).get(p.subject, siteId) as number;
    const limit = p.maxReservations ?? this.defaultQuota(siteId);
    if (held >= limit)
      throw new HubError(
        'HUB_ERR_QUOTA',
        `this platform already holds ${held} reservations at site ${siteId}, its quota; deposits or cancellations free them`,
      );
  }

  defaultQuota(siteId: string): number {
    const doors = cached(
      this.db,
      'SELECT count(*) FROM compartments c JOIN lockers l ON l.id = c.locker_id WHERE l.site_id = ?',
      'pluck',
    ).get(siteId) as number;
    return Math.max(1, Math.floor(doors * RESERVATIONS.defaultShare));
  }
}
