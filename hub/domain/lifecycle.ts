/**
 * Parcels leaving the happy path: deadlines that pass, and cancellations. A compartment held by
 * a parcel that will never come is freed; one that still holds goods stays occupied until
 * someone takes them out (remote open with `retrieve`).
 */
import type { Ledger } from '../db/ledger.ts';
import { cached, type Db } from '../db/open.ts';
import { HubError } from '../errors.ts';
import { ParcelStates } from './parcel-states.ts';

/**
 * The customer is reminded this long before the pickup deadline (through the platform's
 * webhook), or half-way through a window shorter than twice that.
 */
export const REMIND_BEFORE_MS = 24 * 3_600_000;

interface Due {
  id: string;
  locker_id: string;
  door: number;
}

export class ParcelLifecycle {
  readonly #depositDue;
  readonly #pickupDue;
  readonly #remindDue;
  readonly #states: ParcelStates;

  constructor(
    private readonly db: Db,
    private readonly ledger: Ledger,
  ) {
    // A door being opened for this parcel right now is left alone: the operation finishes first.
    this.#depositDue = db.prepare<[number], Due>(
      `SELECT p.id, p.locker_id, p.door FROM parcels p
       JOIN compartments c ON c.locker_id = p.locker_id AND c.door = p.door
       WHERE p.state = 'reserved' AND p.deposit_expires_at <= ? AND c.pending_action IS NULL LIMIT 500`,
    );
    this.#pickupDue = db.prepare<[{ now: number }], Due>(
      `SELECT p.id, p.locker_id, p.door FROM parcels p
       JOIN compartments c ON c.locker_id = p.locker_id AND c.door = p.door
       WHERE ((p.state = 'stored' AND p.destination_locker_id IS NULL AND p.destination_site_id IS NULL AND p.stored_at + p.pickup_window_ms <= @now)
           OR (p.state = 'ready' AND p.ready_at + p.pickup_window_ms <= @now))
         AND c.pending_action IS NULL LIMIT 500`,
    );
    // Collectable parcels whose deadline is near and whose customer was not reminded yet.
    this.#remindDue = db.prepare<[{ ahead: number; now: number }], Due & { expires: number }>(
      `SELECT p.id, p.locker_id, p.door,
              CASE p.state WHEN 'ready' THEN p.ready_at ELSE p.stored_at END + p.pickup_window_ms AS expires
       FROM parcels p
       WHERE p.reminded_at IS NULL AND (
             (p.state = 'stored' AND p.destination_locker_id IS NULL AND p.destination_site_id IS NULL)
          OR p.state = 'ready')
         AND CASE p.state WHEN 'ready' THEN p.ready_at ELSE p.stored_at END + p.pickup_window_ms - min(@ahead, p.pickup_window_ms / 2) <= @now
       LIMIT 500`,
    );
    this.#states = new ParcelStates(db, ledger);
  }

  /** Expires what is past its deadline; returns how many parcels changed. */
  expireDue(now: number): number {
    return this.db
      .transaction(() => {
        const deposits = this.#depositDue.all(now);
        for (const p of deposits)
          this.#states.move(p.id, 'expireDeposit', {
            actor: 'hub',
            at: now,
            data: { stage: 'deposit', goodsInside: false },
          });
        for (const p of this.#remindDue.all({ ahead: REMIND_BEFORE_MS, now })) {
          this.db.prepare('UPDATE parcels SET reminded_at = ? WHERE id = ?').run(now, p.id);
          this.ledger.append({
            ts: now,
            type: 'parcel.pickup_reminder',
            actor: 'hub',
            lockerId: p.locker_id,
            door: p.door,
            parcelId: p.id,
            data: { pickupExpiresAt: p.expires },
          });
        }
        const pickups = this.#pickupDue.all({ now });
        // The goods are still in the compartment: it stays occupied until they are retrieved.
        for (const p of pickups)
          this.#states.move(p.id, 'expirePickup', {
            actor: 'hub',
            at: now,
            data: { stage: 'pickup', goodsInside: true },
          });
        return deposits.length + pickups.length;
      })
      .immediate();
  }

  /** Cancels a parcel whose goods are not in yet: its codes stop working and its compartment is freed. */
  cancel(id: string, reason: string, actor: string, now: number): void {
    this.db
      .transaction(() => {
        const p = this.db
          .prepare(
            `SELECT p.state, p.locker_id, p.door, c.pending_action FROM parcels p
             JOIN compartments c ON c.locker_id = p.locker_id AND c.door = p.door WHERE p.id = ?`,
          )
          .get(id) as
          | { state: string; locker_id: string; door: number; pending_action: string | null }
          | undefined;
        if (!p) throw new HubError('HUB_ERR_PARCEL_NOT_FOUND', `no parcel ${id}`);
        if (p.state !== 'reserved') {
          throw new HubError(
            'HUB_ERR_INVALID_STATE',
            p.state === 'stored'
              ? `parcel ${id} is in door ${p.door}: an operator takes it out with a remote open and "retrieve": true`
              : `parcel ${id} is ${p.state} and can no longer be cancelled`,
          );
        }
        if (p.pending_action)
          throw new HubError('HUB_ERR_CONFLICT', `door ${p.door} is being opened for parcel ${id} right now`);
        this.#states.move(id, 'cancel', { actor, at: now, data: { reason } });
      })
      .immediate();
  }

  /**
   * An operator's decision on goods quarantined for temperature: `release` returns them to the
   * state they were held in (stored, ready at a destination, expired…: the pickup code works
   * again), `discard` ends them (never to be collected: the codes stop).
   */
  decideQuarantine(
    id: string,
    decision: 'release' | 'discard',
    reason: string,
    actor: string,
    now: number,
  ): void {
    this.db
      .transaction(() => {
        // Released: the operator vouched for the goods as they are; their budget starts again.
        const spent = cached(this.db, 'SELECT out_of_range_ms FROM parcels WHERE id = ?', 'pluck').get(id) as
          | number
          | undefined;
        this.#states.move(id, decision, {
          actor,
          at: now,
          data: { reason },
          ...(decision === 'release' && spent !== undefined ? { set: { excused_ms: spent } } : {}),
        });
      })
      .immediate();
  }
}
