/**
 * The API's answers against their declared schemas (devices/api.ts). Every test hub checks each
 * answer it gives (CASIER_CHECK_RESPONSES, vitest.config.ts), so the flow tests cover the routes
 * they call; this file covers the document itself and the routes no flow reaches.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../helpers/hub.ts';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
  t.hub.provisioning.addDevice({ site: 'ferme', locker: 'box-1' }, 'farm-box-4', 'test');
});
afterAll(() => t.close());

interface Operation {
  responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }>;
}

describe('the API contract', () => {
  it('is checked on every answer while the tests run', () => {
    expect(process.env.CASIER_CHECK_RESPONSES).toBe('1');
  });

  it('gives every operation of the OpenAPI document one success status and the schema of its body', async () => {
    const doc = (await t.api('GET', '/api/v1/openapi.json')).body as {
      paths: Record<string, Record<string, Operation>>;
    };
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ at: `${method.toUpperCase()} ${path}`, op })),
    );
    expect(operations.length).toBeGreaterThan(25);
    for (const { at, op } of operations) {
      const ok = Object.keys(op.responses).filter((s) => /^2\d\d$/.test(s));
      expect(ok, at).toHaveLength(1);
      const status = ok[0] as string;
      if (status === '204') continue;
      // A picture (a parcel's label) is a picture: no JSON to describe.
      const content = op.responses[status]?.content ?? {};
      if (Object.keys(content).join() === 'image/svg+xml') continue;
      // An object, or a choice of objects (the readings, raw or by 5 minutes).
      const schema = op.responses[status]?.content?.['application/json']?.schema ?? {};
      const shapes = (schema.oneOf ?? schema.anyOf ?? [schema]) as Array<{ type?: string }>;
      expect(
        shapes.map((s) => s.type),
        at,
      ).toEqual(shapes.map(() => 'object'));
    }
    const label = doc.paths['/api/v1/parcels/{id}/label']?.get;
    expect(Object.keys(label?.responses['200']?.content ?? {})).toEqual(['image/svg+xml']);
    const temperature = doc.paths['/api/v1/parcels/{id}/temperature']?.get;
    expect(Object.keys(temperature?.responses['200']?.content ?? {})).toEqual([
      'application/json',
      'text/csv',
    ]);
  });

  it('lists lockers, all or by site', async () => {
    const all = await t.api('GET', '/api/v1/lockers');
    expect(all.status).toBe(200);
    expect(all.body.lockers.map((l: { id: string }) => l.id)).toEqual(['box-1']);
    const none = await t.api('GET', '/api/v1/lockers?siteId=elsewhere');
    expect(none.body).toEqual({ lockers: [] });
  });

  it('registers, lists and stops webhooks', async () => {
    const hook = await t.api('POST', '/api/v1/webhooks', { url: 'http://127.0.0.1:9/casier' }, t.integration);
    expect(hook.status).toBe(201);
    const listed = await t.api('GET', '/api/v1/webhooks', undefined, t.integration);
    expect(listed.body.webhooks).toEqual([
      {
        id: hook.body.id,
        url: 'http://127.0.0.1:9/casier',
        topic: 'parcels',
        createdAt: expect.any(Number),
        active: true,
      },
    ]);
    const stopped = await t.api('DELETE', `/api/v1/webhooks/${hook.body.id}`, undefined, t.integration);
    expect(stopped).toEqual({ status: 204, body: '' });
    const after = await t.api('GET', '/api/v1/webhooks', undefined, t.integration);
    expect(after.body.webhooks[0].active).toBe(false);
  });

  it('discards a quarantined parcel, whose codes stop working', async () => {
    const created = await t.api('POST', '/api/v1/parcels', {
      lockerId: 'box-1',
      size: 'S',
      temperatureClass: 'chilled',
      recipient: { name: 'Ada' },
    });
    expect(created.status).toBe(201);
    const id = created.body.parcel.id as string;
    // How goods get quarantined is the cold chain's (test/coldchain/scenario.test.ts); here, only the decision.
    t.hub.db.prepare(`UPDATE parcels SET state = 'quarantined' WHERE id = ?`).run(id);
    const discarded = await t.api('POST', `/api/v1/parcels/${id}/discard`, { reason: 'warm for two hours' });
    expect(discarded.status).toBe(200);
    expect(discarded.body).toMatchObject({ id, state: 'discarded' });
    const live = t.hub.db
      .prepare(`SELECT count(*) FROM codes WHERE parcel_id = ? AND state IN ('pending', 'active')`)
      .pluck()
      .get(id);
    expect(live).toBe(0);
    const again = await t.api('POST', `/api/v1/parcels/${id}/discard`, { reason: 'warm for two hours' });
    expect(again.body.error.code).toBe('HUB_ERR_INVALID_STATE');
  });
});
