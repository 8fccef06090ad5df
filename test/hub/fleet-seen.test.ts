import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PERSIST_EVERY_MS } from '../../hub/domain/keep-back.ts';
import { openStore } from '../../hub/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'casier-seen-'));
const store = openStore(dir);
afterAll(() => {
  store.db.close();
  rmSync(dir, { recursive: true, force: true });
});
const lastSeen = (id: string) =>
  store.db.prepare('SELECT last_seen FROM lockers WHERE id = ?').pluck().get(id) as number | null;

describe("a cabinet's last-seen time", () => {
  it('is written at once, then at most every 10 s while it talks; what was kept back by the sweep or at the end', () => {
    store.provisioning.addDevice({ site: 'ferme', locker: 'box-1' }, 'rural-box-8', 'test');
    store.provisioning.addDevice({ site: 'ferme', locker: 'box-2' }, 'rural-box-8', 'test');
    const { fleet } = store;
    const t0 = 1_000_000;
    fleet.seen('box-1', t0);
    expect(lastSeen('box-1')).toBe(t0);
    fleet.seen('box-1', t0 + 1000);
    fleet.seen('box-1', t0 + 500); // late news never moves it back
    expect(lastSeen('box-1')).toBe(t0); // kept in memory
    fleet.writeSeen(t0 + 5000); // the sweep leaves a cabinet heard less than 10 s ago
    expect(lastSeen('box-1')).toBe(t0);
    fleet.seen('box-1', t0 + PERSIST_EVERY_MS);
    expect(lastSeen('box-1')).toBe(t0 + PERSIST_EVERY_MS);
    fleet.seen('box-1', t0 + PERSIST_EVERY_MS + 2000);
    // Gone quiet: the sweep writes it once 10 s passed since it was heard.
    fleet.writeSeen(t0 + 2 * PERSIST_EVERY_MS + 1999);
    expect(lastSeen('box-1')).toBe(t0 + PERSIST_EVERY_MS);
    fleet.writeSeen(t0 + 2 * PERSIST_EVERY_MS + 2000);
    expect(lastSeen('box-1')).toBe(t0 + PERSIST_EVERY_MS + 2000);
    // A state message wrote a later time meanwhile (another path): a kept-back time never undoes it.
    fleet.seen('box-2', t0);
    fleet.seen('box-2', t0 + 3000);
    store.db.prepare(`UPDATE lockers SET last_seen = ? WHERE id = 'box-2'`).run(t0 + 4000);
    fleet.writeSeen(); // everything, before the hub stops
    expect(lastSeen('box-2')).toBe(t0 + 4000);
    fleet.seen('box-2', t0 + 5000);
    fleet.writeSeen();
    expect(lastSeen('box-2')).toBe(t0 + 5000);
  });
});
