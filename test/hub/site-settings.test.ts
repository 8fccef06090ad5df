import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../hub/api/app.ts';
import { type ColdChainDeps, coldChainRoutes } from '../../hub/api/coldchain-routes.ts';
import { type ApiDeps, apiRoutes } from '../../hub/api/routes.ts';
import type { Ledger, LedgerEntry } from '../../hub/db/ledger.ts';
import { Access } from '../../hub/domain/access.ts';
import { SiteRules } from '../../hub/domain/coldchain/site-rules.ts';
import { Fleet } from '../../hub/domain/fleet.ts';
import { createMetrics } from '../../hub/metrics.ts';
import { openStore } from '../../hub/store.ts';

let dir: string;
let store: ReturnType<typeof openStore>;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'casier-site-settings-'));
  store = openStore(dir);
  store.provisioning.addDevice({ site: 'ferme', locker: 'box-1' }, 'farm-box-4', 'test');
});
afterEach(() => {
  store.db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The API over the store, with a ledger that cannot write `failing` entries (a full disk, a bug). */
function api(failing?: string) {
  const real = store.ledger;
  const ledger = {
    append(e: LedgerEntry) {
      if (e.type === failing) throw new Error(`cannot append ${e.type}`);
      return real.append(e);
    },
  } as Ledger;
  const deps = {
    ...store,
    ledger,
    fleet: new Fleet(store.db, ledger),
    access: new Access(store.db),
    send: () => {},
    now: () => 1_800_000_000_000,
  } as unknown as ApiDeps;
  const coldChain = { ...deps, siteRules: new SiteRules(store.db, ledger) } as unknown as ColdChainDeps;
  const app = buildApp({
    routes: [...apiRoutes(deps), ...coldChainRoutes(coldChain)],
    provisioning: store.provisioning,
    metrics: createMetrics(),
    log: pino({ level: 'silent' }),
    version: 'test',
  });
  const token = store.provisioning.createToken('operator', 'test operator', 'test').token;
  const put = (site: string, body: unknown, what = 'settings') =>
    app.inject({
      method: 'PUT',
      url: `/api/v1/sites/${site}/${what}`,
      headers: { authorization: `Bearer ${token}` },
      payload: body as object,
    });
  return { app, put };
}

const driverDoors = () =>
  store.db.prepare('SELECT driver_doors FROM sites WHERE id = ?').pluck().get('ferme') as string;
const settingsEvents = (type = 'site.settings_changed') =>
  store.db.prepare('SELECT count(*) FROM events WHERE type = ?').pluck().get(type);

describe("a site's settings", () => {
  it('change with their ledger entry', async () => {
    const { app, put } = api();
    const res = await put('ferme', { driverDoors: 'all' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      siteId: 'ferme',
      driverDoors: 'all',
      language: null,
      timeZone: null,
      extend: { hours: 24, times: 1 },
    });
    expect(driverDoors()).toBe('all');
    expect(settingsEvents()).toBe(1);
    await app.close();
  });

  it('stay as they were when their ledger entry cannot be written', async () => {
    const { app, put } = api('site.settings_changed');
    const res = await put('ferme', { driverDoors: 'all' });
    expect(res.statusCode).toBe(500);
    expect(driverDoors()).toBe('sequential');
    expect(settingsEvents()).toBe(0);
    await app.close();
  });

  it('of a site that does not exist answer 404 and record nothing', async () => {
    const { app, put } = api();
    const res = await put('nowhere', { driverDoors: 'all' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('HUB_ERR_SITE_NOT_FOUND');
    expect(settingsEvents()).toBe(0);
    await app.close();
  });

  it('and its cold-chain rules likewise', async () => {
    const rules = {
      keepMin: 0,
      keepMax: 6,
      warn: { above: 6, forMinutes: 20 },
      critical: null,
      cumulativeMinutes: null,
    };
    const { app, put } = api('site.rules_changed');
    expect((await put('ferme', rules, 'rules/chilled')).statusCode).toBe(500);
    expect(store.db.prepare('SELECT count(*) FROM site_rules').pluck().get()).toBe(0);
    expect(settingsEvents('site.rules_changed')).toBe(0);
    await app.close();
  });
});
