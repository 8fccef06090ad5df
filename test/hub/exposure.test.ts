/**
 * What the hub shows to anyone who asks: `/metrics` (fleet size, rates, names of cabinets) only
 * with its token once one is set, and the dashboard's source maps (its source, comments and all)
 * only in development.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../helpers/hub.ts';

let t: TestHub | undefined;
let dashboard: string;
beforeEach(() => {
  dashboard = mkdtempSync(join(tmpdir(), 'casier-dash-'));
  mkdirSync(join(dashboard, 'assets'));
  writeFileSync(join(dashboard, 'index.html'), '<!doctype html><script src="/assets/main-X.js"></script>');
  writeFileSync(join(dashboard, 'assets', 'main-X.js'), 'console.log(1)\n//# sourceMappingURL=main-X.js.map');
  writeFileSync(join(dashboard, 'assets', 'main-X.js.map'), '{"version":3,"sources":["secret.tsx"]}');
});
afterEach(async () => {
  await t?.close();
  t = undefined;
  rmSync(dashboard, { recursive: true, force: true });
});

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`http://127.0.0.1:${t?.hub.httpPort}${path}`, { headers });

describe('what the hub serves to anyone', () => {
  it('serves no source map unless told to', async () => {
    t = await startTestHub({ dashboardDir: dashboard });
    expect((await get('/assets/main-X.js')).status).toBe(200);
    expect((await get('/assets/main-X.js.map')).status).toBe(404);
    await t.close();
    t = await startTestHub({ dashboardDir: dashboard, sourceMaps: true });
    expect((await get('/assets/main-X.js.map')).status).toBe(200);
  });

  it('asks for the metrics token once one is set', async () => {
    t = await startTestHub({ metricsToken: 'scraper-secret-0123456789' });
    expect((await get('/metrics')).status).toBe(401);
    expect((await get('/metrics', { authorization: 'Bearer wrong-secret-0123456789' })).status).toBe(401);
    const ok = await get('/metrics', { authorization: 'Bearer scraper-secret-0123456789' });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('casier_');
  });
});
