/**
 * Commands to devices: stored before they are sent, re-sent until the device reports a result
 * or they expire. The device executes an id at most once (docs/protocol.md §3.4), so re-sending
 * is always safe.
 */
import type { Command, CommandResult } from '../../devices/index.ts';
import { cached, type Db } from '../db/open.ts';
import { newId } from './secrets.ts';

/** Why a command exists: what its failure has to undo. */
export type CommandCause =
  | { kind: 'code'; codeId: number; parcelId: string; door: number; action: 'deposit' | 'pickup' }
  | { kind: 'operator'; tokenId: string; door: number; reason: string }
  | { kind: 'driver'; driverId: string; parcelId: string; door: number; action: 'collect' | 'deliver' }
  | { kind: 'keypad' };

export type CommandBody = Command extends infer C
  ? C extends Command
    ? Omit<C, 'id' | 'expiresAt'>
    : never
  : never;

export interface CommandRow {
  id: string;
  locker_id: string;
  type: string;
  body: string;
  state: 'pending' | 'sent' | 'done' | 'failed' | 'expired';
  cause: string | null;
  created_at: number;
  expires_at: number;
  attempts: number;
  last_sent_at: number | null;
}

export const COMMAND_TTL_MS: Record<Command['type'], number> = {
  unlock: 30_000,
  display: 10_000,
  beep: 10_000,
  'codes.sync': 300_000,
  reboot: 60_000,
};

export class Commands {
  readonly #insert;
  readonly #get;
  readonly #finish;
  readonly #markSent;
  readonly #dueForLocker;
  readonly #due;
  readonly #expired;

  constructor(private readonly db: Db) {
    this.#insert = db.prepare(
      `INSERT INTO commands (id, locker_id, type, body, state, cause, created_at, expires_at, last_sent_at)
       VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?)`,
    );
    this.#get = db.prepare<[string, string], CommandRow>(
      'SELECT * FROM commands WHERE id = ? AND locker_id = ?',
    );
    this.#finish = db.prepare(`UPDATE commands SET state = ?, done_at = ?, error = ? WHERE id = ?`);
    this.#markSent = db.prepare(
      `UPDATE commands SET state = 'sent', attempts = attempts + 1, last_sent_at = ? WHERE id = ? AND state IN ('pending', 'sent')`,
    );
    this.#dueForLocker = db.prepare<[string, number], CommandRow>(
      `SELECT * FROM commands WHERE locker_id = ? AND state IN ('pending', 'sent') AND expires_at > ? ORDER BY created_at, id`,
    );
    this.#due = db.prepare<[number, number], CommandRow>(
      `SELECT c.* FROM commands c JOIN lockers l ON l.id = c.locker_id
       WHERE c.state IN ('pending', 'sent') AND c.expires_at > ? AND l.online = 1
         AND (c.last_sent_at IS NULL OR c.last_sent_at <= ?)
       ORDER BY c.created_at, c.id LIMIT 500`,
    );
    this.#expired = db.prepare<[number], CommandRow>(
      `SELECT * FROM commands WHERE state IN ('pending', 'sent') AND expires_at <= ? LIMIT 500`,
    );
  }

  /**
   * Stores a command for its creator to publish once the commit is on disk. It counts as sent at
   * `now`: the dispatcher's re-sends start from there, so a tick while the creator waits for the
   * sync does not publish it a second time (the bridge answered that copy "interrupted" and the
   * hub recorded a failure for a door that opened). A creator that never publishes it (the hub
   * stopped first) leaves it to the first re-send.
   */
  create(lockerId: string, body: CommandBody, cause: CommandCause | null, now: number): Command {
    const id = newId('C');
    const expiresAt = now + COMMAND_TTL_MS[body.type];
    this.#insert.run(
      id,
      lockerId,
      body.type,
      JSON.stringify(body),
      cause ? JSON.stringify(cause) : null,
      now,
      expiresAt,
      now,
    );
    return { ...body, id, expiresAt } as Command;
  }

  get(lockerId: string, id: string): CommandRow | undefined {
    return this.#get.get(id, lockerId);
  }

  /** Records a device's result; returns the command as it was, or undefined if unknown or already final. */
  complete(lockerId: string, result: CommandResult, now: number): CommandRow | undefined {
    const row = this.#get.get(result.id, lockerId);
    if (!row || (row.state !== 'pending' && row.state !== 'sent')) return undefined;
    this.#finish.run(result.ok ? 'done' : 'failed', now, result.error ?? null, row.id);
    return row;
  }

  expire(row: CommandRow, now: number): void {
    this.#finish.run('expired', now, 'expired before the device answered', row.id);
  }

  markSent(id: string, now: number): void {
    this.#markSent.run(now, id);
  }

  /** Open commands of one locker, oldest first: what to send when it comes back online. */
  openFor(lockerId: string, now: number): Command[] {
    return this.#dueForLocker.all(lockerId, now).map(toCommand);
  }

  /** Open commands of online lockers not sent (nor created) since `sentBefore`. */
  due(now: number, sentBefore: number): Array<{ lockerId: string; command: Command }> {
    return this.#due.all(now, sentBefore).map((r) => ({ lockerId: r.locker_id, command: toCommand(r) }));
  }

  expiredRows(now: number): CommandRow[] {
    return this.#expired.all(now);
  }

  /** A command and its outcome, as the API shows it; undefined when unknown. */
  view(id: string) {
    const r = cached(this.db, 'SELECT * FROM commands WHERE id = ?').get(id) as
      | (CommandRow & { done_at: number | null; error: string | null })
      | undefined;
    return (
      r && {
        id: r.id,
        lockerId: r.locker_id,
        type: r.type,
        body: JSON.parse(r.body) as Record<string, unknown>,
        state: r.state,
        attempts: r.attempts,
        createdAt: r.created_at,
        expiresAt: r.expires_at,
        doneAt: r.done_at,
        error: r.error,
      }
    );
  }
}

export function toCommand(r: CommandRow): Command {
  return { ...JSON.parse(r.body), id: r.id, expiresAt: r.expires_at } as Command;
}
