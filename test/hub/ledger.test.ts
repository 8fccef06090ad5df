import { hash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GENESIS, Ledger, type LedgerRow, ledgerHead, verifyLedger } from '../../hub/db/ledger.ts';
import { type Db, openDb } from '../../hub/db/open.ts';

const KEY = Buffer.alloc(32, 1);

let dir: string;
let db: Db;
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function ledgerWith(n: number) {
  dir = mkdtempSync(join(tmpdir(), 'casier-ledger-'));
  db = openDb(dir);
  const ledger = new Ledger(db, KEY);
  append(ledger, n);
  return ledger;
}

function append(ledger: Ledger, n: number) {
  db.transaction(() => {
    for (let i = 0; i < n; i++)
      ledger.append({ ts: 1000 + i, type: 'door.opened', actor: 'device:box-1', lockerId: 'box-1', door: i });
  })();
}

/** `n` rows chained as casier did before the key: SHA-256 of the previous hash and the content. */
function unkeyedLedger(n: number) {
  dir = mkdtempSync(join(tmpdir(), 'casier-ledger-'));
  db = openDb(dir);
  const insert = db.prepare(
    `INSERT INTO events (seq, ts, type, actor, locker_id, door, parcel_id, data, prev_hash, hash)
     VALUES (@seq, @ts, @type, @actor, @locker_id, @door, @parcel_id, @data, @prev_hash, @hash)`,
  );
  let prev = GENESIS;
  for (let seq = 1; seq <= n; seq++) {
    const r = {
      seq,
      ts: 500 + seq,
      type: 'parcel.stored',
      actor: 'hub',
      locker_id: null,
      door: null,
      parcel_id: `P-${seq}`,
      data: '{}',
    };
    const h = unkeyed(prev, r);
    insert.run({ ...r, prev_hash: prev, hash: h });
    prev = h;
  }
}

const unkeyed = (prev: string, r: Omit<LedgerRow, 'prev_hash' | 'hash'>) =>
  hash(
    'sha256',
    prev + JSON.stringify([r.seq, r.ts, r.type, r.actor, r.locker_id, r.door, r.parcel_id, r.data]),
    'hex',
  );

const rows = () => db.prepare<[], LedgerRow>('SELECT * FROM events ORDER BY seq').all();

/** Someone past the triggers: rows `from` to `to` rewritten and linked again with SHA-256. */
function rechainUnkeyed(from: number, edit: (r: LedgerRow) => void, to = Number.POSITIVE_INFINITY) {
  db.exec('DROP TRIGGER IF EXISTS events_no_update;');
  const all = rows();
  let prev = from === 1 ? GENESIS : (all[from - 2] as LedgerRow).hash;
  for (const r of all.slice(from - 1, to)) {
    if (r.seq === from) edit(r);
    r.prev_hash = prev;
    r.hash = unkeyed(prev, r);
    db.prepare(
      'UPDATE events SET type = @type, data = @data, prev_hash = @prev_hash, hash = @hash WHERE seq = @seq',
    ).run(r);
    prev = r.hash;
  }
}

describe('event ledger', () => {
  it('verifies an untouched chain', () => {
    ledgerWith(50);
    expect(verifyLedger(db, KEY)).toMatchObject({ ok: true, events: 50 });
  });

  it('refuses updates and deletes', () => {
    ledgerWith(3);
    expect(() => db.prepare('UPDATE events SET door = 9 WHERE seq = 2').run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM events WHERE seq = 2').run()).toThrow(/append-only/);
  });

  it('finds the first edited or removed row when someone bypasses the triggers', () => {
    ledgerWith(10);
    db.exec('DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;');
    db.prepare(`UPDATE events SET data = '{"forged":true}' WHERE seq = 7`).run();
    expect(verifyLedger(db, KEY)).toMatchObject({
      ok: false,
      brokenAt: 7,
      events: 6,
      problem: 'event 7 does not match its hash',
    });
  });

  it('detects a removed row', () => {
    ledgerWith(10);
    db.exec('DROP TRIGGER events_no_delete;');
    db.prepare('DELETE FROM events WHERE seq = 4').run();
    expect(verifyLedger(db, KEY)).toMatchObject({ ok: false, brokenAt: 4, problem: 'event 4 is missing' });
  });

  it('detects an edit re-chained with SHA-256, which the unkeyed chain let through', () => {
    ledgerWith(10);
    rechainUnkeyed(5, (r) => (r.data = '{"forged":true}'));
    expect(verifyLedger(db, KEY)).toMatchObject({ ok: false, brokenAt: 5 });
    rechainUnkeyed(1, () => {});
    expect(verifyLedger(db, KEY)).toMatchObject({ ok: false, brokenAt: 1 });
  });

  it('does not verify under another key', () => {
    ledgerWith(3);
    expect(verifyLedger(db, Buffer.alloc(32, 2))).toMatchObject({ ok: false, brokenAt: 1 });
  });

  it('finds a cut tail only against an anchor', () => {
    ledgerWith(10);
    const anchor = ledgerHead(db) as NonNullable<ReturnType<typeof ledgerHead>>;
    expect(anchor).toMatchObject({ seq: 10, count: 10 });
    db.exec('DROP TRIGGER events_no_delete;');
    db.prepare('DELETE FROM events WHERE seq > 8').run();
    expect(verifyLedger(db, KEY)).toMatchObject({ ok: true, events: 8 });
    expect(verifyLedger(db, KEY, anchor)).toMatchObject({
      ok: false,
      brokenAt: 9,
      problem: 'anchor mismatch: anchored event 10 is gone, the ledger ends at 8',
      anchor: { seq: 10, ok: false },
    });
  });

  it('reads only the rows after a head it was told holds, and still checks that head', () => {
    const ledger = ledgerWith(10);
    const head = ledgerHead(db) as NonNullable<ReturnType<typeof ledgerHead>>;
    append(ledger, 5);
    expect(verifyLedger(db, KEY, head, head)).toMatchObject({
      ok: true,
      events: 15,
      anchor: { seq: 10, ok: true },
    });
    expect(verifyLedger(db, KEY, undefined, { ...head, hash: GENESIS })).toMatchObject({
      ok: false,
      brokenAt: 10,
      problem: expect.stringMatching(/^anchor mismatch: event 10 has hash/),
    });
  });

  it('refuses to append outside a transaction', () => {
    const ledger = ledgerWith(0);
    expect(() => ledger.append({ ts: 1, type: 'x', actor: 'hub' })).toThrow(/inside a transaction/);
  });
});

describe('a ledger an older casier chained without a key', () => {
  it('is keyed from one `ledger.keyed` event, appended once, that holds the unkeyed rows before it', () => {
    unkeyedLedger(20);
    expect(verifyLedger(db, KEY)).toMatchObject({
      ok: false,
      brokenAt: 1,
      problem: expect.stringContaining('no event is chained'),
    });
    const ledger = new Ledger(db, KEY);
    expect(ledger.keyLegacy(9000)).toBe(21);
    expect(new Ledger(db, KEY).keyLegacy(9001)).toBeUndefined();
    append(ledger, 5);
    const marker = rows()[20] as LedgerRow;
    expect(marker).toMatchObject({
      type: 'ledger.keyed',
      actor: 'hub',
      prev_hash: (rows()[19] as LedgerRow).hash,
    });
    expect(JSON.parse(marker.data)).toEqual({
      unkeyedEvents: 20,
      unkeyedHead: (rows()[19] as LedgerRow).hash,
    });
    expect(verifyLedger(db, KEY)).toMatchObject({ ok: true, events: 26, keyedFrom: 21 });
  });

  it('detects an old row edited and the old rows re-chained after the upgrade', () => {
    unkeyedLedger(20);
    new Ledger(db, KEY).keyLegacy(9000);
    // Every unkeyed row holds again, up to the keyed event that names the old head...
    rechainUnkeyed(7, (r) => (r.data = '{"forged":true}'), 20);
    expect(verifyLedger(db, KEY)).toMatchObject({
      ok: false,
      brokenAt: 21,
      problem: 'event 21 does not link to the one before it',
    });
    // ...and linking it to the new head breaks its keyed hash.
    db.prepare('UPDATE events SET prev_hash = ? WHERE seq = 21').run((rows()[19] as LedgerRow).hash);
    expect(verifyLedger(db, KEY)).toMatchObject({
      ok: false,
      brokenAt: 21,
      problem: 'event 21 does not match its hash',
    });
  });

  it('cannot be stripped of its keyed event unseen by an anchor taken after the upgrade', () => {
    unkeyedLedger(20);
    new Ledger(db, KEY).keyLegacy(9000);
    const anchor = ledgerHead(db) as NonNullable<ReturnType<typeof ledgerHead>>;
    // The keyed event gone and an old row edited: an older store as far as the database tells...
    db.exec('DROP TRIGGER events_no_delete;');
    db.prepare('DELETE FROM events WHERE seq = 21').run();
    rechainUnkeyed(3, (r) => (r.data = '{"forged":true}'));
    // ...which the next start keys again (docs/security.md §7 says so); the anchor still tells.
    new Ledger(db, KEY).keyLegacy(9500);
    expect(verifyLedger(db, KEY)).toMatchObject({ ok: true, keyedFrom: 21 });
    expect(verifyLedger(db, KEY, anchor)).toMatchObject({
      ok: false,
      brokenAt: 21,
      problem: expect.stringMatching(/^anchor mismatch: event 21 has hash/),
    });
  });
});
