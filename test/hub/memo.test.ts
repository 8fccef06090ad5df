import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StoreMemo } from '../../hub/db/memo.ts';
import { cached } from '../../hub/db/open.ts';
import { openStore } from '../../hub/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'casier-memo-'));
const a = openStore(dir);
const b = openStore(dir); // another process, such as the command line
afterAll(() => {
  a.db.close();
  b.db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('answers kept until the store changes', () => {
  it('recomputes after a write here, a commit elsewhere, and never keeps what a transaction saw', () => {
    const memo = new StoreMemo<number>(a.db);
    let computed = 0;
    const count = () =>
      memo.get('n', () => {
        computed++;
        return a.db.prepare('SELECT count(*) FROM sites').pluck().get() as number;
      });
    expect(count()).toBe(0);
    expect(count()).toBe(0);
    expect(computed).toBe(1);

    a.provisioning.addDevice({ site: 'ferme', locker: 'box-1' }, 'rural-box-8', 'test');
    expect(count()).toBe(1);
    b.provisioning.addDevice({ site: 'lyon', locker: 'locker-1' }, 'town-locker-16', 'test');
    expect(count()).toBe(2);
    expect(computed).toBe(3);

    // Seen inside a transaction that is rolled back: not remembered.
    expect(() =>
      a.db.transaction(() => {
        a.db.prepare(`INSERT INTO sites (id, name, created_at) VALUES ('gone', 'gone', 0)`).run();
        expect(count()).toBe(3);
        throw new Error('roll back');
      })(),
    ).toThrow('roll back');
    expect(count()).toBe(2);
  });

  it('sees a revoked or new token at once through the cached authentication', () => {
    const t = a.provisioning.createToken('operator', 'ops', 'test');
    expect(a.provisioning.authenticateToken(t.token)?.role).toBe('operator');
    a.db.prepare('UPDATE api_tokens SET revoked_at = 1 WHERE id = ?').run(t.id);
    expect(a.provisioning.authenticateToken(t.token)).toBeNull();
  });
});

describe('statements prepared once per connection', () => {
  it('gives each mode of one SQL its own statement, prepared once', () => {
    const sql = 'SELECT id FROM sites WHERE id = ?';
    const rows = cached(a.db, sql);
    const values = cached(a.db, sql, 'pluck');
    expect(cached(a.db, sql)).toBe(rows);
    expect(cached(a.db, sql, 'pluck')).toBe(values);
    expect(values).not.toBe(rows);
    expect(rows.get('ferme')).toEqual({ id: 'ferme' });
    expect(values.get('ferme')).toBe('ferme');
    expect(rows.get('ferme')).toEqual({ id: 'ferme' }); // the plucked one left it as it was
    expect(cached(b.db, sql)).not.toBe(rows); // per connection
  });
});
