/**
 * The ledger against someone who can write the database (docs/security.md §7): 1,000 random
 * tampers of a ledger of a few hundred rows, each before the last anchor, each must be found by
 * verifying with the hub's key against that anchor. The attacker knows the row format and both
 * chaining rules; only the key (hub.key, outside the database) and the anchor (outside the hub)
 * are out of reach.
 */
import { createHmac, hash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { Ledger, type LedgerRow, verifyLedger } from '../../hub/db/ledger.ts';
import { type Db, openDb } from '../../hub/db/open.ts';

const KEY = Buffer.alloc(32, 7);
const WRONG_KEY = Buffer.alloc(32, 8);

/** mulberry32: a small seeded generator, so a failure can be replayed. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)) };
}
type Rng = ReturnType<typeof rng>;

const TYPES = ['door.opened', 'door.closed', 'parcel.stored', 'parcel.picked_up', 'code.rejected'];

/** A store with `before` events, its head anchored, then `after` more events appended. */
function build(before: number, after: number) {
  const dir = mkdtempSync(join(tmpdir(), 'casier-ledger-fuzz-'));
  const db = openDb(dir);
  const ledger = new Ledger(db, KEY);
  const add = (n: number, from: number) =>
    db.transaction(() => {
      for (let i = from; i < from + n; i++)
        ledger.append({
          ts: 1_700_000_000_000 + i * 1000,
          type: TYPES[i % TYPES.length] as string,
          actor: i % 3 ? 'device:box-1' : `token:T-${i}`,
          lockerId: i % 4 ? 'box-1' : null,
          door: i % 4 ? (i % 12) + 1 : null,
          parcelId: i % 2 ? `P-${i}` : null,
          data: { i, note: i % 5 ? 'ok' : 'é✓' },
        });
    })();
  add(before, 0);
  const anchor = db
    .prepare<{ n: number }, { seq: number; hash: string; count: number }>(
      'SELECT seq, hash, (SELECT count(*) FROM events WHERE seq <= @n) AS count FROM events WHERE seq = @n',
    )
    .get({ n: before }) as { seq: number; hash: string; count: number };
  add(after, before);
  // An image in WAL mode cannot be opened in memory.
  db.pragma('journal_mode = DELETE');
  const image = db.serialize();
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return { image, anchor };
}

/** What an attacker computes, with the old unkeyed rule or HMAC under a key of their own. */
const content = (r: LedgerRow) =>
  JSON.stringify([r.seq, r.ts, r.type, r.actor, r.locker_id, r.door, r.parcel_id, r.data]);
const forgers = {
  sha256: (prev: string, r: LedgerRow) => hash('sha256', prev + content(r), 'hex'),
  wrongKey: (prev: string, r: LedgerRow) =>
    createHmac('sha256', WRONG_KEY)
      .update(prev + content(r))
      .digest('hex'),
};
type Forger = keyof typeof forgers;

/** Links every row from index `from` on to the one before it, with `forger`'s hashes. */
function rechain(rows: LedgerRow[], from: number, forger: Forger) {
  for (let i = Math.max(from, 0); i < rows.length; i++) {
    const r = rows[i] as LedgerRow;
    r.prev_hash = i === 0 ? '0'.repeat(64) : (rows[i - 1] as LedgerRow).hash;
    r.hash = forgers[forger](r.prev_hash, r);
  }
}

function renumber(rows: LedgerRow[]) {
  for (const [i, r] of rows.entries()) r.seq = i + 1;
}

/** Changes one field of `r` to a value it did not have. */
function editField(r: LedgerRow, g: Rng) {
  const field = (
    ['ts', 'type', 'actor', 'locker_id', 'door', 'parcel_id', 'data', 'prev_hash', 'hash'] as const
  )[g.int(0, 8)];
  const flip = (h: string) => (h[0] === 'a' ? 'b' : 'a') + h.slice(1);
  switch (field) {
    case 'ts':
      r.ts += g.int(1, 3_600_000) * (g.next() < 0.5 ? -1 : 1);
      break;
    case 'type':
      r.type = r.type === 'parcel.cancelled' ? 'parcel.stored' : 'parcel.cancelled';
      break;
    case 'actor':
      r.actor = r.actor === 'cli' ? 'hub' : 'cli';
      break;
    case 'locker_id':
      r.locker_id = r.locker_id === 'box-2' ? null : 'box-2';
      break;
    case 'door':
      r.door = (r.door ?? 0) + g.int(1, 5);
      break;
    case 'parcel_id':
      r.parcel_id = r.parcel_id === 'P-FORGED' ? null : 'P-FORGED';
      break;
    case 'data':
      r.data = JSON.stringify({ ...JSON.parse(r.data), forged: g.int(0, 1e6) });
      break;
    case 'prev_hash':
      r.prev_hash = flip(r.prev_hash);
      break;
    case 'hash':
      r.hash = flip(r.hash);
      break;
  }
}

/** One random tamper of `rows` at or before the anchored index `a` (0-based); its name. */
function tamper(rows: LedgerRow[], a: number, g: Rng): string {
  const at = g.int(0, a);
  const forger: Forger = g.next() < 0.5 ? 'sha256' : 'wrongKey';
  const kind = g.int(0, 7);
  switch (kind) {
    case 0:
      editField(rows[at] as LedgerRow, g);
      return 'edit';
    case 1:
      rows.splice(at, 1);
      if (g.next() < 0.5) renumber(rows);
      return 'delete';
    case 2: {
      let other = g.int(0, rows.length - 1);
      if (other === at) other = at === 0 ? 1 : at - 1;
      const [x, y] = [rows[at] as LedgerRow, rows[other] as LedgerRow];
      rows[at] = { ...y, seq: x.seq };
      rows[other] = { ...x, seq: y.seq };
      return 'swap';
    }
    case 3: {
      // A forged row linked to the row before it, hashed with a rule the attacker knows.
      const forged: LedgerRow = {
        ...(rows[at] as LedgerRow),
        type: 'parcel.cancelled',
        data: '{"forged":true}',
      };
      rows.splice(at, 0, forged);
      renumber(rows);
      forged.prev_hash = at === 0 ? '0'.repeat(64) : (rows[at - 1] as LedgerRow).hash;
      forged.hash = forgers[forger](forged.prev_hash, forged);
      return `insert (${forger})`;
    }
    case 4: {
      // A forged row that takes the stored hash of the row it displaces: the next link still holds.
      const displaced = rows[at] as LedgerRow;
      const forged: LedgerRow = { ...displaced, actor: 'cli', data: '{"forged":true}' };
      rows.splice(at, 0, forged);
      const next = rows[at + 1] as LedgerRow;
      next.prev_hash = forged.hash;
      if (g.next() < 0.5) renumber(rows);
      else rows.splice(at + 1, 1); // or replaces it outright
      return 'insert (stored hashes)';
    }
    case 5:
      rows.splice(at);
      return 'truncate';
    default: {
      // Anything, then every row after it re-chained so that each link holds again.
      const sub = g.int(0, 2);
      if (sub === 0) editField(rows[at] as LedgerRow, g);
      else if (sub === 1) rows.splice(at, 1);
      else rows.splice(at, 0, { ...(rows[at] as LedgerRow), data: '{"forged":true}' });
      renumber(rows);
      rechain(rows, g.next() < 0.3 ? 0 : at, forger);
      return `${['edit', 'delete', 'insert'][sub]} + re-chain (${forger})`;
    }
  }
}

/** `rows` written over the ledger of a copy of the store, as someone past the triggers would. */
function storeWith(image: Buffer, rows: LedgerRow[]): Db {
  const db = new Database(image);
  db.exec('DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete; DELETE FROM events;');
  const insert = db.prepare(
    `INSERT INTO events (seq, ts, type, actor, locker_id, door, parcel_id, data, prev_hash, hash)
     VALUES (@seq, @ts, @type, @actor, @locker_id, @door, @parcel_id, @data, @prev_hash, @hash)`,
  );
  db.transaction(() => {
    for (const r of rows) insert.run(r);
  })();
  return db;
}

describe('ledger against someone who can write the database', () => {
  const { image, anchor } = build(300, 40);
  const original = (() => {
    const db = new Database(image);
    const rows = db.prepare<[], LedgerRow>('SELECT * FROM events ORDER BY seq').all();
    db.close();
    return rows;
  })();
  const opened: Db[] = [];
  afterAll(() => {
    for (const db of opened) db.close();
  });

  it('verifies an untouched ledger against its anchor, rows appended after it included', () => {
    const db = new Database(image);
    opened.push(db);
    expect(verifyLedger(db, KEY, anchor)).toMatchObject({ ok: true, events: 340 });
  });

  it('detects 1,000 of 1,000 random tampers made before the last anchor', () => {
    const g = rng(21);
    const missed: string[] = [];
    const kinds = new Map<string, number>();
    for (let trial = 0; trial < 1000; trial++) {
      const rows = original.map((r) => ({ ...r }));
      const kind = tamper(rows, anchor.seq - 1, g);
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      const db = storeWith(image, rows);
      if (verifyLedger(db, KEY, anchor).ok) missed.push(`#${trial} ${kind}`);
      db.close();
    }
    // Every kind was drawn: the figure is not carried by one easy tamper.
    expect(kinds.size).toBeGreaterThanOrEqual(12);
    expect({ detected: 1000 - missed.length, missed: missed.slice(0, 10) }).toEqual({
      detected: 1000,
      missed: [],
    });
  });
});
