import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Ledger, verifyLedger } from '../../hub/db/ledger.ts';
import { type Db, openDb } from '../../hub/db/open.ts';

let dir: string;
let db: Db;
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function ledgerWith(n: number) {
  dir = mkdtempSync(join(tmpdir(), 'casier-ledger-'));
  db = openDb(dir);
  const ledger = new Ledger(db);
  db.transaction(() => {
    for (let i = 0; i < n; i++)
      ledger.append({ ts: 1000 + i, type: 'door.opened', actor: 'device:box-1', lockerId: 'box-1', door: i });
  })();
  return ledger;
}

describe('event ledger', () => {
  it('verifies an untouched chain', () => {
    ledgerWith(50);
    expect(verifyLedger(db)).toMatchObject({ ok: true, events: 50 });
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
    expect(verifyLedger(db)).toMatchObject({ ok: false, brokenAt: 7, events: 6 });
  });

  it('detects a removed row', () => {
    ledgerWith(10);
    db.exec('DROP TRIGGER events_no_delete;');
    db.prepare('DELETE FROM events WHERE seq = 4').run();
    expect(verifyLedger(db)).toMatchObject({ ok: false, brokenAt: 5 });
  });

  it('refuses to append outside a transaction', () => {
    const ledger = ledgerWith(0);
    expect(() => ledger.append({ ts: 1, type: 'x', actor: 'hub' })).toThrow(/inside a transaction/);
  });
});
