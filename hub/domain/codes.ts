/**
 * Keypad codes: generated from the CSPRNG, stored only as keyed hashes, bound to one locker and
 * door, one-time, expiring. What a typed code may do is decided in keypad.ts.
 */

import type { CodeView } from '../../devices/api.ts';
import { offlineMac } from '../../devices/index.ts';
import { cached, type Db } from '../db/open.ts';
import {
  hashCode,
  isSealed,
  newCode,
  openCode,
  openOfflineKey,
  sealCode,
  sealOfflineKey,
} from './secrets.ts';

export type CodeKind = 'deposit' | 'pickup';
export type CodeState = 'pending' | 'active' | 'used' | 'expired' | 'revoked';

export interface CodeRow {
  id: number;
  hash: string;
  parcel_id: string;
  locker_id: string;
  door: number;
  kind: CodeKind;
  state: CodeState;
  not_before: number | null;
  expires_at: number | null;
  used_at: number | null;
  /** 'return': a producer's pickup code for a parcel back in their box; null: as its kind says. */
  purpose?: 'return' | null;
}

export class Codes {
  readonly #byHash;
  readonly #live;
  readonly #driver;
  readonly #insert;
  readonly #setState;
  readonly #rebind;
  readonly #restore;
  readonly #pendingPickup;
  readonly #revokeLive;

  constructor(
    private readonly db: Db,
    private readonly key: Buffer,
    private readonly digits: number,
  ) {
    // When a hash matches several rows (a code reused after the first one ended), the live one wins.
    this.#byHash = db.prepare<[string], CodeRow>(
      `SELECT * FROM codes WHERE hash = ?
       ORDER BY CASE state WHEN 'active' THEN 0 WHEN 'pending' THEN 1 WHEN 'used' THEN 2 ELSE 3 END, id DESC LIMIT 1`,
    );
    this.#live = db.prepare<[string], { n: number }>(
      `SELECT count(*) AS n FROM codes WHERE hash = ? AND state IN ('pending', 'active')`,
    );
    this.#driver = db.prepare<[string], { one: number }>('SELECT 1 AS one FROM drivers WHERE code_hash = ?');
    this.#insert = db.prepare(
      `INSERT INTO codes (hash, offline_mac, parcel_id, locker_id, door, kind, state, not_before, expires_at, purpose, sealed)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#rebind = db.prepare('UPDATE codes SET locker_id = ?, door = ? WHERE id = ?');
    this.#setState = db.prepare(
      'UPDATE codes SET state = ?, used_at = COALESCE(?, used_at), expires_at = COALESCE(?, expires_at) WHERE id = ?',
    );
    this.#restore = db.prepare(
      `UPDATE codes SET state = 'active', used_at = NULL WHERE id = ? AND state = 'used'`,
    );
    this.#revokeLive = db.prepare<[string, string | null]>(
      `UPDATE codes SET state = 'revoked' WHERE parcel_id = ? AND kind = coalesce(?, kind) AND state IN ('pending', 'active')`,
    );
    this.#pendingPickup = db
      .prepare<[string], number>(
        `SELECT id FROM codes WHERE parcel_id = ? AND kind = 'pickup' AND state = 'pending'`,
      )
      .pluck();
  }
  /** A cabinet's offline-code key, unsealed with the hub's key; null for a cabinet without one. */
  offlineKeyOf(lockerId: string): Buffer | null {
    const stored = cached(this.db, 'SELECT offline_key FROM lockers WHERE id = ?', 'pluck').get(lockerId) as
      | string
      | null
      | undefined;
    return stored ? openOfflineKey(this.key, lockerId, stored) : null;
  }

  /** What the store keeps of a cabinet's offline-code key (docs/security.md §2). */
  sealOfflineKey(lockerId: string, key: Buffer): string {
    return sealOfflineKey(this.key, lockerId, key);
  }

  /** Seals the offline keys an older hub kept in clear; returns how many. At start. */
  sealLegacyOfflineKeys(): number {
    const rows = this.db
      .prepare('SELECT id, offline_key AS k FROM lockers WHERE offline_key IS NOT NULL')
      .all() as Array<{ id: string; k: string }>;
    const legacy = rows.filter((r) => !isSealed(r.k));
    if (legacy.length === 0) return 0;
    const update = this.db.prepare('UPDATE lockers SET offline_key = ? WHERE id = ?');
    this.db.transaction(() => {
      for (const r of legacy) update.run(this.sealOfflineKey(r.id, Buffer.from(r.k, 'hex')), r.id);
    })();
    return legacy.length;
  }

  /**
   * Live codes whose offline hash is still to compute from their HMAC (hub/offline-hashes.ts),
   * oldest first: under a burst, each waits for those created before it, no longer.
   */
  offlineDue(limit: number): Array<{ id: number; lockerId: string; mac: string }> {
    return cached(
      this.db,
      `SELECT id, locker_id AS lockerId, offline_mac AS mac FROM codes
       WHERE offline_mac IS NOT NULL AND offline_hash IS NULL AND state IN ('pending', 'active')
       ORDER BY id LIMIT ?`,
    ).all(limit) as Array<{ id: number; lockerId: string; mac: string }>;
  }

  /** Puts a code in its cabinet's offline table (the update trigger makes the table go again). */
  setOfflineHash(id: number, mac: string, h: string): void {
    cached(
      this.db,
      'UPDATE codes SET offline_hash = ? WHERE id = ? AND offline_mac = ? AND offline_hash IS NULL',
    ).run(h, id, mac);
  }

  /** A parcel's pickup code still waiting for the goods to be in (or to arrive), if any. */
  pendingPickup(parcelId: string): number | undefined {
    return this.#pendingPickup.get(parcelId);
  }

  /**
   * Issues a code no live code shares, so a typed code always designates one door.
   * Returns the code in clear: the caller shows it once and forgets it.
   */
  issue(p: {
    parcelId: string;
    lockerId: string;
    door: number;
    kind: CodeKind;
    state: 'pending' | 'active';
    expiresAt: number | null;
    notBefore?: number;
    /** A pickup code for the producer to take back a parcel returned to their box. */
    purpose?: 'return';
    /**
     * The locker's offline-code key: the code then also appears in its offline table, once its slow
     * hash is computed from the HMAC kept here (hub/offline-hashes.ts), off the request's path.
     */
    offlineKey?: Buffer | null;
    /**
     * Keep the code sealed so that it can be shown again on request (the customer's page,
     * `reveal`); default: a customer's pickup code. Wiped when the code ends (migration 44's trigger).
     */
    seal?: boolean;
  }): { code: string; id: number } {
    const seal = p.seal ?? (p.kind === 'pickup' && p.purpose === undefined);
    for (;;) {
      const code = newCode(this.digits);
      const hash = hashCode(this.key, code);
      // No live code, and no driver's code, may share a value: a typed code names one thing.
      if ((this.#live.get(hash)?.n ?? 0) > 0 || this.#driver.get(hash)) continue;
      const info = this.#insert.run(
        hash,
        p.offlineKey ? offlineMac(p.offlineKey, code) : null,
        p.parcelId,
        p.lockerId,
        p.door,
        p.kind,
        p.state,
        p.notBefore ?? null,
        p.expiresAt,
        p.purpose ?? null,
        seal ? sealCode(this.key, sealBinding(p.parcelId, hash), code) : null,
      );
      return { code, id: Number(info.lastInsertRowid) };
    }
  }

  /** A new random code of the configured length (not yet checked against live codes). */
  fresh(): string {
    return newCode(this.digits);
  }

  hash(code: string): string {
    return hashCode(this.key, code);
  }

  /** The row a typed code names: the live one when several share its hash. What it may do is keypad.ts's call. */
  find(code: string): CodeRow | undefined {
    return this.findHash(this.hash(code));
  }

  /** As `find`, by the code's keyed hash (a keypad entry held in the store keeps only that). */
  findHash(hash: string): CodeRow | undefined {
    return this.#byHash.get(hash);
  }

  markUsed(id: number, now: number): void {
    this.#setState.run('used', now, null, id);
  }

  /** Gives a code back after the door it opened never opened (command failed or expired). */
  restore(id: number): void {
    this.#restore.run(id);
  }

  /** Makes a code valid until `expiresAt`; `at`: for another door than it was issued for (a delivery). */
  activate(id: number, expiresAt: number, at?: { lockerId: string; door: number }): void {
    if (at) this.#moveTo(id, at);
    this.#setState.run('active', null, expiresAt, id);
  }

  /**
   * Binds a code to another door. At another cabinet, its offline entry is made again under that
   * cabinet's key, from the code's sealed copy: a pickup code moved with its parcel (a delivery
   * after a round, a redirect) kept the origin's, so the destination's bridge, deciding alone
   * while the hub was away, never recognised it. A code kept with no sealed copy (before they
   * were kept) works there online only.
   */
  #moveTo(id: number, at: { lockerId: string; door: number }): void {
    const row = cached(this.db, 'SELECT parcel_id, hash, sealed, locker_id FROM codes WHERE id = ?').get(
      id,
    ) as { parcel_id: string; hash: string; sealed: string | null; locker_id: string } | undefined;
    this.#rebind.run(at.lockerId, at.door, id);
    if (!row || row.locker_id === at.lockerId) return;
    const key = this.offlineKeyOf(at.lockerId);
    const mac =
      key && row.sealed
        ? offlineMac(key, openCode(this.key, sealBinding(row.parcel_id, row.hash), row.sealed))
        : null;
    // The slow hash follows from the new HMAC (hub/offline-hashes.ts); the table goes again then.
    cached(this.db, 'UPDATE codes SET offline_mac = ?, offline_hash = NULL WHERE id = ?').run(mac, id);
  }

  setState(id: number, state: CodeState): void {
    this.#setState.run(state, null, null, id);
  }

  /**
   * Puts a parcel's working pickup code back to waiting (its parcel was redirected from where it
   * was ready): it opens nothing from this commit on, and the next delivery activates it at its
   * new door. Returns how many codes changed.
   */
  suspendPickup(parcelId: string): number {
    return cached(
      this.db,
      `UPDATE codes SET state = 'pending', expires_at = NULL WHERE parcel_id = ? AND kind = 'pickup' AND purpose IS NULL AND state = 'active'`,
    ).run(parcelId).changes;
  }

  /**
   * The state of a parcel's codes, oldest first, never the codes. A working code past its
   * deadline reads `expired`: nothing sweeps a code whose parcel stays as it is (a return code).
   */
  ofParcel(parcelId: string, now: number): CodeView[] {
    const rows = cached(
      this.db,
      'SELECT kind, purpose, state, locker_id, door, not_before, expires_at, used_at FROM codes WHERE parcel_id = ? ORDER BY id',
    ).all(parcelId) as Array<Omit<CodeRow, 'id' | 'hash' | 'parcel_id'>>;
    return rows.map((r) => ({
      kind: r.purpose ?? r.kind,
      state: r.state === 'active' && r.expires_at !== null && r.expires_at <= now ? 'expired' : r.state,
      lockerId: r.locker_id,
      door: r.door,
      notBefore: r.not_before,
      expiresAt: r.expires_at,
      usedAt: r.used_at,
    }));
  }

  /**
   * A parcel's latest code of `kind` still working (or waiting for its goods) and kept sealed, in
   * clear, to show to whoever holds the parcel's link; undefined when there is none, or it is past
   * its deadline. The caller records that it was shown (never the code).
   */
  reveal(
    parcelId: string,
    kind: CodeKind,
    now: number,
  ): { code: string; lockerId: string; door: number; expiresAt: number | null } | undefined {
    const row = this.#sealed(parcelId, kind, now);
    if (!row) return undefined;
    return {
      code: openCode(this.key, sealBinding(parcelId, row.hash), row.sealed),
      lockerId: row.locker_id,
      door: row.door,
      expiresAt: row.expires_at,
    };
  }

  /** Whether `reveal` would show a code, without opening it. */
  revealable(parcelId: string, kind: CodeKind, now: number): boolean {
    return this.#sealed(parcelId, kind, now) !== undefined;
  }

  #sealed(parcelId: string, kind: CodeKind, now: number) {
    const row = cached(
      this.db,
      `SELECT hash, sealed, locker_id, door, expires_at FROM codes
       WHERE parcel_id = ? AND kind = ? AND sealed IS NOT NULL AND state IN ('pending', 'active')
       ORDER BY id DESC LIMIT 1`,
    ).get(parcelId, kind) as
      | { hash: string; sealed: string; locker_id: string; door: number; expires_at: number | null }
      | undefined;
    return row && (row.expires_at === null || row.expires_at > now) ? row : undefined;
  }

  /**
   * Moves the deadline of a parcel's working pickup code (its window was extended); the trigger on
   * `expires_at` sends the cabinet's offline table again. Returns how many codes moved.
   */
  extendPickup(parcelId: string, expiresAt: number): number {
    return cached(
      this.db,
      `UPDATE codes SET expires_at = ? WHERE parcel_id = ? AND kind = 'pickup' AND purpose IS NULL AND state = 'active'`,
    ).run(expiresAt, parcelId).changes;
  }

  /**
   * Wipes the sealed copies of codes past their deadline whose state nothing changed (a code ends
   * with its parcel's transition, and the trigger wipes it then; a return code just runs out).
   */
  wipeLapsedSeals(now: number): number {
    return cached(
      this.db,
      'UPDATE codes SET sealed = NULL WHERE sealed IS NOT NULL AND expires_at IS NOT NULL AND expires_at <= ?',
    ).run(now).changes;
  }

  /** Stops a parcel's codes still waiting or working (of one kind, or all); returns how many. */
  revokeLive(parcelId: string, kind?: CodeKind): number {
    return this.#revokeLive.run(parcelId, kind ?? null).changes;
  }
}

/** What a sealed code is bound to: its parcel and its row's keyed hash. */
const sealBinding = (parcelId: string, hash: string) => `casier code ${parcelId} ${hash}`;

/** Ends every code of a parcel still pending or active: it expired, or stops working (revoked). */
export function endCodes(db: Db, parcelId: string, state: 'expired' | 'revoked'): void {
  cached(db, `UPDATE codes SET state = ? WHERE parcel_id = ? AND state IN ('pending', 'active')`).run(
    state,
    parcelId,
  );
}
