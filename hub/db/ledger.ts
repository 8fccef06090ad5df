/**
 * The event ledger: append-only (triggers refuse UPDATE and DELETE), each row carrying an
 * HMAC-SHA-256 of its content chained to the previous row's hash, under a key derived from the
 * hub's key (hub.key, outside the database). Someone who can write the database but not read
 * hub.key can neither edit a row nor re-chain the rows after it; what they can still do, cut the
 * tail, is caught against an anchor kept outside the hub (hub/domain/audit-anchor.ts,
 * docs/security.md §7).
 */
import { createHmac, hash } from 'node:crypto';
import type { LedgerEventView } from '../../devices/index.ts';
import { cursor, saveCursor } from './cursors.ts';
import type { Db } from './open.ts';

export const GENESIS = '0'.repeat(64);

/** The event that starts the keyed chain of a ledger an older casier chained without a key. */
export const KEYED_EVENT = 'ledger.keyed';

export interface LedgerEntry {
  ts: number;
  type: string;
  /** Who caused it: `device:<locker>`, `token:<id>`, `hub`, `cli`. */
  actor: string;
  lockerId?: string | null;
  door?: number | null;
  parcelId?: string | null;
  data?: Record<string, unknown>;
}

export interface LedgerRow {
  seq: number;
  ts: number;
  type: string;
  actor: string;
  locker_id: string | null;
  door: number | null;
  parcel_id: string | null;
  data: string;
  prev_hash: string;
  hash: string;
}

/** The ledger up to one event: what an anchor records. `count` is the number of rows up to `seq`. */
export interface LedgerHead {
  seq: number;
  hash: string;
  count: number;
}

type Content = Omit<LedgerRow, 'prev_hash' | 'hash'>;

const serialise = (seq: number, e: Omit<Content, 'seq'>) =>
  JSON.stringify([seq, e.ts, e.type, e.actor, e.locker_id, e.door, e.parcel_id, e.data]);

/** The chain key: derived from the hub's key with a label of its own, as the other sub-keys are. */
export const chainKey = (hubKey: Buffer) =>
  createHmac('sha256', hubKey).update('casier ledger chain v1').digest();

/** How rows are chained: HMAC-SHA-256 of the previous hash and the content, ~4 µs more than SHA-256. */
const keyedHash = (key: Buffer, prev: string, seq: number, e: Omit<Content, 'seq'>) =>
  createHmac('sha256', key)
    .update(prev + serialise(seq, e))
    .digest('hex');

/** How casier chained rows before the key: kept to check the rows of an upgraded store. */
const unkeyedHash = (prev: string, seq: number, e: Omit<Content, 'seq'>) =>
  hash('sha256', prev + serialise(seq, e), 'hex');

export class Ledger {
  readonly #last;
  readonly #insert;
  readonly #key: Buffer;

  constructor(
    private readonly db: Db,
    hubKey: Buffer,
  ) {
    this.#key = chainKey(hubKey);
    this.#last = db.prepare<[], { seq: number; hash: string }>(
      'SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1',
    );
    this.#insert = db.prepare(
      `INSERT INTO events (seq, ts, type, actor, locker_id, door, parcel_id, data, prev_hash, hash)
       VALUES (@seq, @ts, @type, @actor, @locker_id, @door, @parcel_id, @data, @prev_hash, @hash)`,
    );
  }

  /**
   * Appends one event. Must run inside the caller's transaction: the previous hash is read there,
   * so the command line and the hub can both write without forking the chain.
   */
  append(e: LedgerEntry): number {
    if (!this.db.inTransaction) throw new Error('Ledger.append must run inside a transaction');
    const last = this.#last.get();
    const seq = (last?.seq ?? 0) + 1;
    const prev = last?.hash ?? GENESIS;
    const row = {
      ts: e.ts,
      type: e.type,
      actor: e.actor,
      locker_id: e.lockerId ?? null,
      door: e.door ?? null,
      parcel_id: e.parcelId ?? null,
      data: JSON.stringify(e.data ?? {}),
    };
    this.#insert.run({ ...row, seq, prev_hash: prev, hash: keyedHash(this.#key, prev, seq, row) });
    return seq;
  }

  /**
   * A store an older casier wrote holds rows chained without a key, which the triggers forbid
   * rewriting (and rewriting would bless any edit made before). Instead one `ledger.keyed` event is
   * appended, chained with the key: it links to the unkeyed head, so from then on the unkeyed rows
   * are held by it as the keyed ones are by theirs (verifyLedger). Returns its seq, if appended.
   */
  keyLegacy(ts: number): number | undefined {
    const first = this.db.prepare<[], LedgerRow>('SELECT * FROM events ORDER BY seq LIMIT 1').get();
    if (!first || first.hash === keyedHash(this.#key, GENESIS, first.seq, first)) return undefined;
    // Neither rule: the first row was tampered with; keying now would hide it, verification tells.
    if (first.hash !== unkeyedHash(GENESIS, first.seq, first)) return undefined;
    const marked = cursor(this.db, KEYED_EVENT);
    if (marked !== undefined && this.#typeAt(marked) === KEYED_EVENT) return undefined;
    return this.db
      .transaction(() => {
        const head = this.#last.get() as { seq: number; hash: string };
        const seq = this.append({
          ts,
          type: KEYED_EVENT,
          actor: 'hub',
          data: { unkeyedEvents: head.seq, unkeyedHead: head.hash },
        });
        saveCursor(this.db, KEYED_EVENT, seq);
        return seq;
      })
      .immediate();
  }

  #typeAt(seq: number): string | undefined {
    return this.db.prepare<[number], { type: string }>('SELECT type FROM events WHERE seq = ?').get(seq)
      ?.type;
  }
}

/** A ledger row as the API and the live feed show it. */
export const eventView = (r: LedgerRow): LedgerEventView & { hash: string } => ({
  seq: r.seq,
  ts: r.ts,
  type: r.type,
  actor: r.actor,
  lockerId: r.locker_id,
  door: r.door,
  parcelId: r.parcel_id,
  data: JSON.parse(r.data) as Record<string, unknown>,
  hash: r.hash,
});

/** The audit trail from `after` (exclusive), oldest first, narrowed by locker, parcel or type. */
export function listEvents(
  db: Db,
  f: { after: number; lockerId?: string; parcelId?: string; type?: string; limit: number },
) {
  const clauses = ['seq > ?'];
  const args: unknown[] = [f.after];
  if (f.lockerId) clauses.push('locker_id = ?') && args.push(f.lockerId);
  if (f.parcelId) clauses.push('parcel_id = ?') && args.push(f.parcelId);
  if (f.type) clauses.push('type = ?') && args.push(f.type);
  return db
    .prepare<unknown[], LedgerRow>(`SELECT * FROM events WHERE ${clauses.join(' AND ')} ORDER BY seq LIMIT ?`)
    .all(...args, f.limit)
    .map(eventView);
}

/** The ledger's last event and how many rows lead to it; undefined for an empty ledger. */
export function ledgerHead(db: Db): LedgerHead | undefined {
  return db
    .prepare<[], LedgerHead>(
      'SELECT seq, hash, (SELECT count(*) FROM events) AS count FROM events ORDER BY seq DESC LIMIT 1',
    )
    .get();
}

export interface VerifyResult {
  ok: boolean;
  /** Events that hold, from the first. */
  events: number;
  /** The first event that does not hold: edited, forged, out of place, or missing. */
  brokenAt?: number;
  /** What was found, in words, when something does not hold. */
  problem?: string;
  lastHash: string;
  /** The `ledger.keyed` event of a store an older casier chained without a key, if any. */
  keyedFrom?: number;
  /** The anchor checked against, and whether the ledger still holds it. */
  anchor?: { seq: number; ok: boolean };
}

/**
 * Whether the ledger still holds `head`: its event with the same hash, and as many rows up to it.
 * If not, the first event that does not hold and what was found.
 */
function holds(db: Db, head: LedgerHead): [number, string] | undefined {
  const row = db
    .prepare<{ seq: number }, { hash: string; count: number }>(
      'SELECT hash, (SELECT count(*) FROM events WHERE seq <= @seq) AS count FROM events WHERE seq = @seq',
    )
    .get({ seq: head.seq });
  if (!row) {
    const end = (db.prepare('SELECT max(seq) FROM events').pluck().get() as number | null) ?? 0;
    return [end + 1, `anchor mismatch: anchored event ${head.seq} is gone, the ledger ends at ${end}`];
  }
  if (row.hash !== head.hash)
    return [head.seq, `anchor mismatch: event ${head.seq} has hash ${row.hash}, anchored ${head.hash}`];
  if (row.count !== head.count)
    return [head.seq, `anchor mismatch: ${row.count} events up to ${head.seq}, anchored ${head.count}`];
  return undefined;
}

/**
 * Checks every row's link and hash with the hub's key, and that the ledger still holds `anchor`
 * (its event, hash and count): with the key out of reach, an edit, an insertion, a reordering or
 * a re-chaining breaks a row, and a cut tail loses the anchored event. From `since`, a head known
 * to hold (the previous anchor), only the rows after it are read: the hub checks the last hour's.
 */
export function verifyLedger(db: Db, hubKey: Buffer, anchor?: LedgerHead, since?: LedgerHead): VerifyResult {
  const key = chainKey(hubKey);
  let prev = since?.hash ?? GENESIS;
  let count = since?.count ?? 0;
  let expected = (since?.seq ?? 0) + 1;
  // Undecided until the first row: a store an older casier wrote is unkeyed up to `ledger.keyed`.
  let unkeyed = since ? false : undefined;
  let keyedFrom: number | undefined;
  let anchorSeen = false;
  const result = (brokenAt?: number, problem?: string): VerifyResult => ({
    ok: brokenAt === undefined,
    events: count,
    ...(brokenAt === undefined ? {} : { brokenAt, problem }),
    lastHash: prev,
    ...(keyedFrom === undefined ? {} : { keyedFrom }),
    ...(anchor ? { anchor: { seq: anchor.seq, ok: anchorSeen && brokenAt === undefined } } : {}),
  });
  const start = since && holds(db, since);
  if (start) return result(...start);
  if (anchor && since && anchor.seq <= since.seq) {
    const mismatch = holds(db, anchor);
    if (mismatch) return result(...mismatch);
    anchorSeen = true;
  }
  const rows = db.prepare<[number], LedgerRow>('SELECT * FROM events WHERE seq >= ? ORDER BY seq');
  for (const row of rows.iterate(expected)) {
    const { seq, prev_hash, hash, ...content } = row;
    if (seq !== expected) return result(expected, `event ${expected} is missing`);
    if (prev_hash !== prev) return result(seq, `event ${seq} does not link to the one before it`);
    const keyed: boolean =
      (unkeyed !== true || content.type === KEYED_EVENT) && hash === keyedHash(key, prev, seq, content);
    unkeyed ??= !keyed;
    if (unkeyed && keyed) {
      unkeyed = false;
      keyedFrom = seq;
    } else if (unkeyed ? hash !== unkeyedHash(prev, seq, content) : !keyed) {
      return result(seq, `event ${seq} does not match its hash`);
    }
    prev = hash;
    count++;
    expected++;
    if (anchor && seq === anchor.seq) {
      const mismatch = holds(db, anchor);
      if (mismatch) return result(...mismatch);
      anchorSeen = true;
    }
  }
  if (anchor && !anchorSeen)
    return result(
      expected,
      `anchor mismatch: anchored event ${anchor.seq} is gone, the ledger ends at ${expected - 1}`,
    );
  if (unkeyed)
    return result(1, "no event is chained with the hub's key (a store no hub of this version opened)");
  return result();
}
