/**
 * Reconciles what a cabinet did on its own while the hub was unreachable (docs/protocol.md
 * §3.2): an `offline.unlock` names the code by its offline hash; the hub marks that code used and
 * lets the door events that follow complete the deposit or pickup, exactly as online. A code the
 * hub had meanwhile cancelled, expired or seen used is a conflict, recorded for an operator.
 */
import type { DeviceEvent } from '../../devices/index.ts';
import type { Ledger } from '../db/ledger.ts';
import { cached, type Db } from '../db/open.ts';
import type { CodeRow, Codes } from './codes.ts';
import { Compartments } from './compartments.ts';
import { type ParcelState, ParcelStates } from './parcel-states.ts';

type OfflineUnlock = Extract<DeviceEvent, { type: 'offline.unlock' }>;

export class OfflineReconciler {
  readonly #byOfflineHash;
  readonly #byOfflineMac;

  constructor(
    private readonly db: Db,
    private readonly ledger: Ledger,
    private readonly codes: Codes,
  ) {
    this.#byOfflineHash = db.prepare<[string, string], CodeRow>(
      `SELECT * FROM codes WHERE locker_id = ? AND offline_hash = ?
       ORDER BY CASE state WHEN 'active' THEN 0 WHEN 'pending' THEN 1 ELSE 2 END, id DESC LIMIT 1`,
    );
    // A bridge of format 1 journalled the HMAC itself: its outbox may still hold such unlocks.
    this.#byOfflineMac = db.prepare<[string, string], CodeRow>(
      `SELECT * FROM codes WHERE locker_id = ? AND offline_mac = ?
       ORDER BY CASE state WHEN 'active' THEN 0 WHEN 'pending' THEN 1 ELSE 2 END, id DESC LIMIT 1`,
    );
  }

  /** Returns true when the code was accepted, false when a conflict was recorded. */
  reconcile(lockerId: string, ev: OfflineUnlock, now: number): boolean {
    const base = { ts: now, actor: `device:${lockerId}`, lockerId, door: ev.door };
    const when = { eventId: ev.id, unlockedAt: ev.ts, kind: ev.kind };
    const code = this.#byOfflineHash.get(lockerId, ev.h) ?? this.#byOfflineMac.get(lockerId, ev.h);
    const conflict = (reason: string, extra: Record<string, unknown> = {}) =>
      this.ledger.append({
        ...base,
        type: 'offline.conflict',
        parcelId: code?.parcel_id ?? null,
        data: { ...when, reason, ...extra },
      });
    if (!code) {
      conflict('unknown_code');
      return false;
    }
    if (code.door !== ev.door) {
      conflict('wrong_door', { codeDoor: code.door });
      return false;
    }
    const comp = cached(
      this.db,
      'SELECT pending_action, pending_opened FROM compartments WHERE locker_id = ? AND door = ?',
    ).get(lockerId, ev.door) as { pending_action: string | null; pending_opened: number } | undefined;
    if (code.state === 'used' && comp?.pending_action === code.kind && !comp.pending_opened) {
      // The same code again after its door failed to open: the operation is still the one in progress.
      this.ledger.append({
        ...base,
        type: 'code.used_offline',
        parcelId: code.parcel_id,
        data: { ...when, retry: true },
      });
      return true;
    }
    if (code.state !== 'active') {
      conflict(code.state === 'pending' ? 'not_yet_valid' : `code_${code.state}`, {
        codeState: code.state,
      });
      return false;
    }
    const parcel = cached(this.db, 'SELECT state, held_from FROM parcels WHERE id = ?').get(code.parcel_id) as
      | { state: ParcelState; held_from: ParcelState | null }
      | undefined;
    // What the code was for, as its parcel is now: a pickup at the destination (ready) too, and a
    // parcel quarantined after the cabinet last heard of it. The door opened: what follows is a
    // fact, completed as online (held, for a quarantined one) for an operator to see.
    if (
      !parcel ||
      !(code.kind === 'deposit'
        ? ParcelStates.allows('deposit', parcel.state, parcel.held_from)
        : ParcelStates.pickupOf(parcel.state, parcel.held_from) !== null)
    ) {
      conflict('parcel_state', { parcelState: parcel?.state });
      return false;
    }
    this.codes.markUsed(code.id, now);
    // No command: the door is already unlocked. The door events that follow complete the operation.
    new Compartments(this.db).begin(lockerId, ev.door, code.kind, null);
    this.ledger.append({
      ...base,
      type: 'code.used_offline',
      parcelId: code.parcel_id,
      data: parcel.state === 'quarantined' ? { ...when, held: true } : when,
    });
    return true;
  }
}
