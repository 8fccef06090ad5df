/**
 * A cabinet numbers its events 1, 2, 3… within a boot and keeps each in its outbox until the hub
 * acknowledges it (docs/protocol.md §2.3). They may still arrive out of order: a broker that
 * acknowledged them while the hub was down and delivered them to nobody, a re-send racing a new
 * event. The hub applies them in their order all the same:
 *
 * - an event after a hole is stored and acknowledged (it is durable here) but held; it is applied
 *   once the hole fills. A later boot's events wait behind an earlier boot's hole (boots in the
 *   order the hub first heard of them).
 * - a hole still open after `holdMs` while the cabinet is online is a loss: its bridge re-sends
 *   what it holds every few seconds, so what has not come by then is not in its outbox any more
 *   (wiped, or a faulty device). Only then is it recorded (`device.sequence_gap`) and the held
 *   events applied around it. Time offline does not count: nothing can arrive then.
 *
 * The store holds the order (`device_boots`, `device_events.held`): a hub restarted with events
 * held goes on where it stopped. Every method runs inside the caller's transaction.
 */
import type { Logger } from 'pino';
import type { Command, DeviceEvent } from '../devices/index.ts';
import type { Ledger } from './db/ledger.ts';
import type { Db } from './db/open.ts';
import type { Metrics } from './metrics.ts';

/** How long a hole may hold a cabinet's later events while it is online (ms). */
export const DEFAULT_GAP_HOLD_MS = 30_000;

type Apply = (lockerId: string, ev: DeviceEvent) => Command[];

interface Held {
  boot_id: string;
  id: string;
  seq: number;
  body: string;
  applied: number;
}

export class EventOrder {
  readonly #boot;
  readonly #newBoot;
  readonly #insert;
  readonly #anyHeld;
  readonly #nextHeld;
  readonly #release;
  readonly #advance;
  readonly #holeAt;
  readonly #noHole;
  constructor(
    private readonly db: Db,
    private readonly ledger: Ledger,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    /**
     * The keyed hash codes are looked up by (`Codes.hash`): a keypad entry held behind a hole is
     * stored with it instead of its digits, so it is decided after a hub restart too (the person
     * may well still be at the keypad: a hub is back in seconds).
     */
    private readonly hashCode: (code: string) => string,
    private readonly holdMs = DEFAULT_GAP_HOLD_MS,
  ) {
    this.#boot = db.prepare<[string, string], { applied: number }>(
      'SELECT applied FROM device_boots WHERE locker_id = ? AND boot_id = ?',
    );
    this.#newBoot = db.prepare<[string, string, string]>(
      `INSERT INTO device_boots (locker_id, boot_id, n, applied)
       VALUES (?, ?, (SELECT coalesce(max(n), 0) + 1 FROM device_boots WHERE locker_id = ?), 0)`,
    );
    this.#insert = db.prepare(
      `INSERT OR IGNORE INTO device_events (locker_id, id, boot_id, seq, ts, type, body, received_at, held)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#anyHeld = db
      .prepare<[string], number>('SELECT 1 FROM device_events WHERE locker_id = ? AND held = 1 LIMIT 1')
      .pluck();
    this.#nextHeld = db.prepare<[string], Held>(
      `SELECT e.boot_id, e.id, e.seq, e.body, b.applied
       FROM device_events e JOIN device_boots b ON b.locker_id = e.locker_id AND b.boot_id = e.boot_id
       WHERE e.locker_id = ? AND e.held = 1 ORDER BY b.n, e.seq LIMIT 1`,
    );
    this.#release = db.prepare('UPDATE device_events SET held = 0 WHERE locker_id = ? AND id = ?');
    this.#advance = db.prepare(
      'UPDATE device_boots SET applied = max(applied, ?) WHERE locker_id = ? AND boot_id = ?',
    );
    this.#holeAt = db.prepare(
      `UPDATE device_boots SET gap_since = CASE WHEN boot_id = ? THEN coalesce(gap_since, ?) END
       WHERE locker_id = ? AND (boot_id = ? OR gap_since IS NOT NULL)`,
    );
    this.#noHole = db.prepare(
      'UPDATE device_boots SET gap_since = NULL WHERE locker_id = ? AND gap_since IS NOT NULL',
    );
  }

  /**
   * Stores one message's events and applies, in order, every one that no hole holds back (these
   * and any held before). Returns how many were new (not re-sends).
   */
  receive(
    lockerId: string,
    bootId: string,
    events: readonly DeviceEvent[],
    now: number,
    apply: Apply,
  ): number {
    let applied = this.#boot.get(lockerId, bootId)?.applied;
    if (applied === undefined) {
      this.#newBoot.run(lockerId, bootId, lockerId);
      applied = 0;
    }
    const start = applied;
    // In order and nothing waiting: applied as it comes (the common case, one write per event).
    let holding = this.#anyHeld.get(lockerId) !== undefined;
    let fresh = 0;
    for (const ev of events) {
      const inOrder = !holding && ev.seq === applied + 1;
      const stored = this.#insert.run(
        lockerId,
        ev.id,
        bootId,
        ev.seq,
        ev.ts,
        ev.type,
        JSON.stringify(redact(ev, inOrder ? undefined : this.hashCode)),
        now,
        inOrder ? 0 : 1,
      );
      if (stored.changes === 0) continue; // a re-send: stored once already
      fresh++;
      if (inOrder) {
        applied = ev.seq;
        this.#applyOne(lockerId, ev, apply, now);
      } else holding = true;
    }
    if (applied !== start) this.#advance.run(applied, lockerId, bootId);
    if (holding) this.#drain(lockerId, now, apply);
    return fresh;
  }

  /** The cabinet is back: a hole's time starts again (nothing could arrive while it was away). */
  cameOnline(lockerId: string, now: number): void {
    this.db
      .prepare('UPDATE device_boots SET gap_since = ? WHERE locker_id = ? AND gap_since IS NOT NULL')
      .run(now, lockerId);
  }

  /** Cabinets online whose oldest hole has held their events `holdMs` or longer. */
  due(now: number): string[] {
    return this.db
      .prepare<[number], string>(
        `SELECT DISTINCT b.locker_id FROM device_boots b JOIN lockers l ON l.id = b.locker_id
         WHERE b.gap_since IS NOT NULL AND b.gap_since <= ? AND l.online = 1`,
      )
      .pluck()
      .all(now - this.holdMs);
  }

  /**
   * Gives up a cabinet's oldest hole (its events are lost): records the loss, then applies the
   * held events around it, up to the next hole if there is one.
   */
  giveUp(lockerId: string, now: number, apply: Apply): void {
    const next = this.#nextHeld.get(lockerId);
    if (!next || next.seq <= next.applied + 1) return;
    const since = this.db
      .prepare<[string, string], number | null>(
        'SELECT gap_since FROM device_boots WHERE locker_id = ? AND boot_id = ?',
      )
      .pluck()
      .get(lockerId, next.boot_id) as number | null;
    const expected = next.applied + 1;
    this.metrics.sequenceGaps.inc();
    this.ledger.append({
      ts: now,
      type: 'device.sequence_gap',
      actor: 'hub',
      lockerId,
      data: {
        bootId: next.boot_id,
        expected,
        got: next.seq,
        missing: next.seq - expected,
        heldMs: now - (since ?? now),
      },
    });
    this.log.warn(
      { locker: lockerId, bootId: next.boot_id, expected, got: next.seq },
      'device events lost: applied around the hole',
    );
    this.#advance.run(next.seq - 1, lockerId, next.boot_id);
    this.#drain(lockerId, now, apply);
  }

  /** Applies held events while the next one follows the last applied; marks the hole it stops at. */
  #drain(lockerId: string, now: number, apply: Apply): void {
    for (;;) {
      const next = this.#nextHeld.get(lockerId);
      if (!next) {
        this.#noHole.run(lockerId);
        return;
      }
      if (next.seq > next.applied + 1) {
        this.#holeAt.run(next.boot_id, now, lockerId, next.boot_id);
        return;
      }
      // Late past a hole given up (seq ≤ applied): a real event all the same, applied now.
      if (next.seq <= next.applied)
        this.log.warn(
          { locker: lockerId, bootId: next.boot_id, seq: next.seq },
          'event after its hole was given up',
        );
      this.#release.run(lockerId, next.id);
      this.#advance.run(next.seq, lockerId, next.boot_id);
      const ev = JSON.parse(next.body) as DeviceEvent & { codeHash?: string };
      if (ev.type === 'keypad.entry' && ev.codeHash === undefined) {
        // Held by a hub from before entries kept their hash: nothing to decide it with.
        this.log.warn({ locker: lockerId, id: next.id }, 'held keypad entry without its code: dropped');
        continue;
      }
      this.#applyOne(lockerId, ev, apply, now);
    }
  }

  /**
   * Applies one event in a savepoint. One the domain cannot apply (a bug, a state nobody foresaw)
   * is recorded and counted, and the cabinet's stream goes on: left unacknowledged it would come
   * back forever, and every later event of its cabinet would wait behind it.
   */
  #applyOne(lockerId: string, ev: DeviceEvent, apply: Apply, now: number): void {
    try {
      this.db.transaction(() => apply(lockerId, ev))();
    } catch (err) {
      this.metrics.dropped.inc({ suffix: 'events', reason: 'error' });
      this.log.error(
        { err, locker: lockerId, id: ev.id, type: ev.type },
        'device event could not be applied',
      );
      this.ledger.append({
        ts: now,
        type: 'device.event_failed',
        actor: 'hub',
        lockerId,
        data: { eventId: ev.id, type: ev.type, error: (err as Error).message.slice(0, 300) },
      });
    }
  }
}

/**
 * Typed codes never reach the store in clear: the copy kept of a keypad entry drops the digits;
 * one held to be decided later keeps the code's keyed hash, as the codes table does.
 */
function redact(ev: DeviceEvent, hashCode?: (code: string) => string): unknown {
  if (ev.type !== 'keypad.entry') return ev;
  const { code, ...rest } = ev;
  return { ...rest, digits: code.length, ...(hashCode ? { codeHash: hashCode(code) } : {}) };
}
