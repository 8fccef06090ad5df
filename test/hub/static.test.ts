import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../helpers/hub.ts';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub({ dashboardDir: '/nonexistent/casier-dashboard' });
});
afterAll(() => t.close());

describe('the hub without a built dashboard', () => {
  it('says how to build it instead of failing, and keeps serving the API', async () => {
    const page = await fetch(`http://127.0.0.1:${t.hub.httpPort}/`);
    expect(page.status).toBe(503);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('npm run build');
    const api = await fetch(`http://127.0.0.1:${t.hub.httpPort}/api/v1`);
    expect(await api.json()).toMatchObject({ name: 'casier hub', openapi: '/api/v1/openapi.json' });
    expect((await t.api('GET', '/api/v1/sites')).status).toBe(200);
  });

  it('still answers an unknown path with the API error shape', async () => {
    const res = await t.api('GET', '/api/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('HUB_ERR_NOT_FOUND');
  });
});
