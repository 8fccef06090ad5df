/**
 * A compartment's state has one owner: which parcel it holds (claim, free), the operation in
 * progress on its door (begin, opened, end: what closing the door completes) and what its
 * contact last said. Every other module asks this one; nothing else writes `compartments`
 * (provisioning creates the rows).
 */
import { cached, type Db } from '../db/open.ts';

/** What an opening of the door is for: what its closing completes. */
export type DoorOperation = 'deposit' | 'pickup' | 'collect' | 'deliver' | 'operator' | 'retrieve';

export interface CompartmentRow {
  locker_id: string;
  door: number;
  parcel_id: string | null;
  door_state: string;
  pending_action: DoorOperation | null;
  pending_command: string | null;
  pending_opened: number;
  /** What the door's item sensor last said (1: goods inside); null: no sensor, or not heard yet. */
  present: number | null;
}

export class Compartments {
  constructor(private readonly db: Db) {}

  get(lockerId: string, door: number): CompartmentRow | undefined {
    return cached(this.db, 'SELECT * FROM compartments WHERE locker_id = ? AND door = ?').get(
      lockerId,
      door,
    ) as CompartmentRow | undefined;
  }

  /** The compartment now holds `parcelId` (reserved for it, or its goods delivered there). */
  claim(lockerId: string, door: number, parcelId: string): void {
    cached(this.db, 'UPDATE compartments SET parcel_id = ? WHERE locker_id = ? AND door = ?').run(
      parcelId,
      lockerId,
      door,
    );
  }

  /** It no longer holds `parcelId` (a compartment claimed since by another parcel is left alone). */
  free(lockerId: string, door: number, parcelId: string): void {
    cached(
      this.db,
      'UPDATE compartments SET parcel_id = NULL WHERE locker_id = ? AND door = ? AND parcel_id = ?',
    ).run(lockerId, door, parcelId);
  }

  /** The door is being opened for `op`, by `commandId` (none: it was released on the cabinet's own, offline). */
  begin(lockerId: string, door: number, op: DoorOperation, commandId: string | null): void {
    cached(
      this.db,
      'UPDATE compartments SET pending_action = ?, pending_command = ?, pending_opened = 0 WHERE locker_id = ? AND door = ?',
    ).run(op, commandId, lockerId, door);
  }

  /** The door opened during the operation in progress: its closing completes it. */
  opened(lockerId: string, door: number): void {
    cached(this.db, 'UPDATE compartments SET pending_opened = 1 WHERE locker_id = ? AND door = ?').run(
      lockerId,
      door,
    );
  }

  /** The operation is over: completed, or undone because the door never opened. */
  end(lockerId: string, door: number): void {
    cached(
      this.db,
      'UPDATE compartments SET pending_action = NULL, pending_command = NULL, pending_opened = 0 WHERE locker_id = ? AND door = ?',
    ).run(lockerId, door);
  }

  /**
   * Doors a cabinet says it found closed as it started (its `state`), known closed from then if the
   * hub knew nothing of them: its events say the rest, in their order.
   */
  closedAtStart(lockerId: string, doors: readonly number[], at: number): void {
    const update = cached(
      this.db,
      `UPDATE compartments SET door_state = 'closed', door_changed_at = ? WHERE locker_id = ? AND door = ? AND door_state = 'unknown'`,
    );
    for (const door of doors) update.run(at, lockerId, door);
  }

  /** What the door's contact said, at the cabinet's time. */
  contact(lockerId: string, door: number, state: 'open' | 'closed', at: number): void {
    cached(
      this.db,
      'UPDATE compartments SET door_state = ?, door_changed_at = ? WHERE locker_id = ? AND door = ?',
    ).run(state, at, lockerId, door);
  }

  /** What the door's item sensor said: goods inside or not (judged when the door closes). */
  presence(lockerId: string, door: number, present: boolean): void {
    cached(this.db, 'UPDATE compartments SET present = ? WHERE locker_id = ? AND door = ?').run(
      present ? 1 : 0,
      lockerId,
      door,
    );
  }
}
