/**
 * A platform's webhook URL must not turn the hub into a way in: no signed POST to the hub itself,
 * to loopback, to private or link-local addresses (a cloud's metadata service), by name or by
 * address, and no redirect followed (the first wave's attack: a 307 forwarded a signed POST to an
 * internal port). Only loopback servers are started here; the refused addresses are never reached.
 */
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, startTestHub, type TestHub } from '../helpers/hub.ts';

let t: TestHub | undefined;
const servers: Server[] = [];
afterEach(async () => {
  await t?.close();
  t = undefined;
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function listen(handler: Parameters<typeof createServer>[1]): Promise<number> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}

describe('where the hub sends its webhooks', () => {
  it('refuses loopback, private and link-local targets, by address or by name, the hub itself included', async () => {
    t = await startTestHub({ outboundAllow: [] });
    const hub = t;
    const register = (url: string) => hub.api('POST', '/api/v1/webhooks', { url }, hub.integration);
    for (const url of [
      `http://127.0.0.1:${t.hub.httpPort}/api/v1/parcels`,
      `http://localhost:${t.hub.httpPort}/`,
      'http://[::1]:8080/',
      'http://[::ffff:127.0.0.1]:8080/',
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.5/hook',
      'http://192.168.1.20/hook',
      'http://172.20.0.1/hook',
      'http://0.0.0.0:8080/',
    ]) {
      const res = await register(url);
      expect(res.status, url).toBe(400);
      expect(res.body.error.message, url).toMatch(/private, loopback or link-local|does not resolve/);
    }
    // A public address is taken (nothing is sent to it: no parcel changes here).
    expect((await register('https://93.184.216.34/casier')).status).toBe(201);
  });

  it('follows no redirect: a 307 to an internal port is a failed delivery, the port never reached', async () => {
    t = await startTestHub({ outboundAllow: ['127.0.0.1'] });
    let internalHits = 0;
    const internal = await listen((_req, res) => {
      internalHits++;
      res.end();
    });
    let hookHits = 0;
    const hook = await listen((req, res) => {
      hookHits++;
      req.resume();
      res.writeHead(307, { location: `http://127.0.0.1:${internal}/admin/open-all` }).end();
    });
    expect(
      (await t.api('POST', '/api/v1/webhooks', { url: `http://127.0.0.1:${hook}/casier` }, t.integration))
        .status,
    ).toBe(201);
    const hub = t;
    await hub.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
    const order = await hub.api(
      'POST',
      '/api/v1/parcels',
      { lockerId: 'box-1', size: 'S', temperatureClass: 'ambient', recipient: { name: 'Ada' } },
      hub.integration,
    );
    expect(order.status).toBe(201);
    const error = hub.hub.db
      .prepare('SELECT last_error FROM webhook_deliveries WHERE last_error IS NOT NULL')
      .pluck();
    const lastError = await eventually(() => error.get() as string | undefined, 10_000, 'a failed delivery');
    expect(lastError).toMatch(/HTTP 307: redirects are not followed/);
    expect(hookHits).toBeGreaterThan(0);
    expect(internalHits).toBe(0);
  });
});
