/** A site's own broker says whether its line to the central broker is up: what the hub makes of it. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../hub/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'casier-line-'));
const store = openStore(dir);
afterAll(() => {
  store.db.close();
  rmSync(dir, { recursive: true, force: true });
});
for (const locker of ['box-1', 'box-2'])
  store.provisioning.addDevice({ site: 'ferme', locker }, 'rural-box-8', 'test');
store.provisioning.addDevice({ site: 'lyon', locker: 'locker-1' }, 'town-locker-16', 'test');
const online = { online: true, bootId: 'b1', fw: 'test', profile: 'rural-box-8', ts: 1 } as const;
for (const [site, locker] of [
  ['ferme', 'box-1'],
  ['ferme', 'box-2'],
  ['lyon', 'locker-1'],
] as const)
  store.db.transaction(() => store.fleet.onState({ site, locker }, online, 1))();

const line = (site: string, up: boolean, now: number) =>
  store.db.transaction(() => store.fleet.onSiteLine(site, up, now))();
const ledger = (type: string) =>
  store.db.prepare('SELECT count(*) FROM events WHERE type = ?').pluck().get(type) as number;
const isOnline = (id: string) => store.db.prepare('SELECT online FROM lockers WHERE id = ?').pluck().get(id);

describe('a site line', () => {
  it('takes the site’s cabinets offline when it drops, records each change once, and ignores unknown sites', () => {
    expect(line('ferme', true, 10)).toBe(true); // the retained state heard at start: no news
    expect(ledger('site.line_up')).toBe(0);
    expect(line('ferme', false, 20)).toBe(true);
    expect([isOnline('box-1'), isOnline('box-2'), isOnline('locker-1')]).toEqual([0, 0, 1]);
    expect(ledger('site.line_down')).toBe(1);
    expect(ledger('locker.offline')).toBe(2);
    line('ferme', false, 30); // said again (a retained message on a reconnection)
    expect(ledger('site.line_down')).toBe(1);
    line('ferme', true, 40);
    expect(ledger('site.line_up')).toBe(1);
    expect(line('nowhere', false, 50)).toBe(false);
    expect(isOnline('locker-1')).toBe(1);
  });
});
