/** A site's own broker says whether its line to the central broker is up: what the hub makes of it. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Alarms } from '../../hub/domain/coldchain/alarms.ts';
import { Watchdog } from '../../hub/domain/coldchain/watchdog.ts';
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
    expect(store.fleet.lineDown('ferme')).toBe(true);
    expect(store.fleet.site('ferme')?.line).toEqual({ up: false, since: 20 });
    line('ferme', true, 40);
    expect(ledger('site.line_up')).toBe(1);
    expect(store.fleet.lineDown('ferme')).toBe(false);
    expect(line('nowhere', false, 50)).toBe(false);
    expect(isOnline('locker-1')).toBe(1);
    expect(store.fleet.sites().map((x) => [x.id, x.line])).toEqual([
      ['ferme', { up: true, since: 40 }],
      ['lyon', null], // no site broker: nothing said
    ]);
  });

  it('is kept across a restart of the hub: the line repeated at start is no news', () => {
    line('ferme', false, 60);
    const again = openStore(dir); // what a restarted hub reads
    try {
      expect(again.fleet.lineDown('ferme')).toBe(true);
      expect(again.db.transaction(() => again.fleet.onSiteLine('ferme', false, 70))()).toBe(true);
      expect(ledger('site.line_down')).toBe(2); // the drop at 20 and the one at 60, not the repeat
      expect(again.fleet.site('ferme')?.line).toEqual({ up: false, since: 60 });
    } finally {
      again.db.close();
    }
  });

  it('gives the reason of a cabinet offline behind a dropped line in its alarm', () => {
    let now = 100;
    const watchdog = new Watchdog(store.db, new Alarms(store.db, store.ledger), () => now);
    now += 61_000; // offline for more than a minute
    watchdog.sweep();
    const reasons = store.db
      .prepare(
        `SELECT locker_id, json_extract(details, '$.reason') FROM alarms WHERE kind = 'controller_offline'`,
      )
      .raw()
      .all();
    expect(reasons).toEqual([
      ['box-1', 'site_line_down'],
      ['box-2', 'site_line_down'],
    ]);
  });
});
