/**
 * Named positions kept in the store (`cursors`): how far a periodic job has read the ledger
 * (webhooks, alarm mails, settled goods moves), or up to when the raw readings are gone.
 */
import { cached, type Db } from './open.ts';

/** The position kept under `name`, undefined if none was ever kept. */
export function cursor(db: Db, name: string): number | undefined {
  return cached(db, 'SELECT seq FROM cursors WHERE name = ?', 'pluck').get(name) as number | undefined;
}

/** Keeps `seq` under `name` (never below what is kept, with `monotonic`). Inside a transaction. */
export function saveCursor(db: Db, name: string, seq: number, monotonic = false): void {
  cached(
    db,
    monotonic
      ? 'INSERT INTO cursors (name, seq) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET seq = max(seq, excluded.seq)'
      : 'INSERT INTO cursors (name, seq) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq',
  ).run(name, seq);
}

/** The ledger's last position (0 for an empty one). */
export function ledgerEnd(db: Db): number {
  return (cached(db, 'SELECT max(seq) FROM events', 'pluck').get() as number | null) ?? 0;
}

/**
 * Moves `name` to the ledger's end, for a job that can do nothing with what it would read (no mail
 * server, no channel): once it can, the news from before is not its to send.
 */
export function skipToLedgerEnd(db: Db, name: string): void {
  const end = ledgerEnd(db);
  if (cursor(db, name) !== end) db.transaction(() => saveCursor(db, name, end))();
}
