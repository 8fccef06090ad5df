import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dueAgain, PERSIST_EVERY_MS, phaseOf } from '../../hub/domain/keep-back.ts';
import { openStore } from '../../hub/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'casier-seen-'));
const store = openStore(dir);
afterAll(() => {
  store.db.close();
  rmSync(dir, { recursive: true, force: true });
});
const lastSeen = (id: string) =>
  store.db.prepare('SELECT last_seen FROM lockers WHERE id = ?').pluck().get(id) as number | null;

describe('what is kept back, and when it is written', () => {
  it('comes due about every 10 s, never within 5 s, each key at its own point of the period', () => {
    for (const key of ['box-1', 'box-2', 'ferme/box-1\u0000t1']) {
      const phase = phaseOf(key);
      const writes = [0];
      for (let now = 1000; now <= 120_000; now += 1000)
        if (dueAgain(phase, writes.at(-1) as number, now)) writes.push(now);
      const gaps = writes.slice(1).map((w, i) => w - (writes[i] as number));
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(PERSIST_EVERY_MS / 2);
      expect(Math.max(...gaps.slice(1))).toBeLessThanOrEqual(PERSIST_EVERY_MS);
      expect(writes.length).toBeGreaterThanOrEqual(12);
    }
    // Spread: a thousand cabinets' turns fall in every second of the period.
    const seconds = new Set(Array.from({ length: 1000 }, (_, i) => Math.floor(phaseOf(`box-${i}`) / 1000)));
    expect(seconds.size).toBe(PERSIST_EVERY_MS / 1000);
  });
});

describe("a cabinet's last-seen time", () => {
  it('is written at once, then about every 10 s while it talks; what was kept back by the sweep or at the end', () => {
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
    // Talking every second: written again within 10 s of the last write.
    for (let s = 2; s <= 10; s++) fleet.seen('box-1', t0 + s * 1000);
    const second = lastSeen('box-1') as number;
    expect(second).toBeGreaterThan(t0);
    expect(second).toBeLessThanOrEqual(t0 + 10_000);
    // Gone quiet after t0 + 10 s: the sweep writes it once 10 s passed since it was heard.
    fleet.writeSeen(t0 + 10_000 + PERSIST_EVERY_MS - 1);
    expect(lastSeen('box-1')).toBe(second);
    fleet.writeSeen(t0 + 10_000 + PERSIST_EVERY_MS);
    expect(lastSeen('box-1')).toBe(t0 + 10_000);
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
