import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildApp } from '../../hub/api/app.ts';
import { Csv, defineRoute, openApiDocument, type RouteDef } from '../../hub/api/route.ts';
import type { Provisioning } from '../../hub/domain/provisioning.ts';
import { createMetrics } from '../../hub/metrics.ts';

const answer = z.strictObject({ id: z.string(), count: z.number().int() });

/** A route whose handler answers `body`, whatever its declared schema says. */
const route = (body: unknown, extra: Partial<RouteDef> = {}) =>
  defineRoute({
    method: 'GET',
    url: '/api/v1/thing',
    summary: 'A thing',
    roles: ['operator'],
    response: { 200: answer },
    handler: () => body as z.input<typeof answer>,
    ...extra,
  });

function app(routes: RouteDef[], checkResponses: boolean) {
  const provisioning = {
    authenticateToken: () => ({
      id: 'T-1',
      role: 'operator',
      name: 'test',
      subject: null,
      sites: null,
      expiresAt: null,
      maxReservations: null,
    }),
  } as unknown as Provisioning;
  return buildApp({
    routes,
    provisioning,
    metrics: createMetrics(),
    log: pino({ level: 'silent' }),
    version: 'test',
    checkResponses,
  });
}

const get = (a: ReturnType<typeof app>, url = '/api/v1/thing') =>
  a.inject({ method: 'GET', url, headers: { authorization: 'Bearer test-token-0123' } });

describe('route responses', () => {
  it('pass when they match their schema', async () => {
    const a = app([route({ id: 'x', count: 2 })], true);
    const res = await get(a);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ id: 'x', count: 2 });
  });

  it('answer 500 naming each difference when checked and drifted from their schema', async () => {
    const a = app([route({ id: 'x', count: 2.5, secret: 's3' })], true);
    const res = await get(a);
    expect(res.statusCode).toBe(500);
    expect(res.json().error.code).toBe('HUB_ERR_INTERNAL');
    expect(res.json().error.details).toEqual([
      'body.count: Invalid input: expected int, received number',
      'body: Unrecognized key: "secret"',
    ]);
  });

  it('are checked as sent: a field left undefined is a missing field', async () => {
    const a = app([route({ id: 'x', count: undefined })], true);
    const res = await get(a);
    expect(res.statusCode).toBe(500);
    expect(res.json().error.details).toEqual([
      'body.count: Invalid input: expected number, received undefined',
    ]);
  });

  it('go out unchecked when checking is off (production)', async () => {
    const a = app([route({ id: 'x', count: 2.5 })], false);
    const res = await get(a);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ id: 'x', count: 2.5 });
  });

  it('may be CSV only where the route declares it', async () => {
    const csv = new Csv('a,b\n1,2\n');
    const declared = await get(app([route(csv, { csv: true })], true));
    expect(declared.statusCode).toBe(200);
    expect(declared.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(declared.body).toBe('a,b\n1,2\n');
    const undeclared = await get(app([route(csv)], true));
    expect(undeclared.statusCode).toBe(500);
  });

  it('use the status they declare, and no body for 204', async () => {
    const created = route({ id: 'x', count: 1 }, { method: 'POST', response: { 201: answer } });
    const gone = route(null, { method: 'DELETE', response: { 204: null } });
    const a = app([created, gone], true);
    const headers = { authorization: 'Bearer test-token-0123' };
    expect((await a.inject({ method: 'POST', url: '/api/v1/thing', headers })).statusCode).toBe(201);
    const res = await a.inject({ method: 'DELETE', url: '/api/v1/thing', headers });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
  });

  it('must name exactly one success status', () => {
    expect(() => app([route({}, { response: { 200: answer, 201: answer } })], true)).toThrow(
      /exactly one success status/,
    );
    expect(() => app([route({}, { response: { 404: answer } })], true)).toThrow(/exactly one success status/);
  });

  it('are described in the OpenAPI document, with the CSV alternative where there is one', () => {
    const doc = openApiDocument([route({}, { csv: true })], 'test');
    const ok = doc.paths['/api/v1/thing']?.get as { responses: Record<string, { content: object }> };
    expect(ok.responses['200']?.content).toEqual({
      'application/json': {
        schema: {
          $schema: 'https://json-schema.org/draft/2020-12/schema',
          type: 'object',
          properties: {
            id: { type: 'string' },
            count: { type: 'integer', minimum: expect.any(Number), maximum: expect.any(Number) },
          },
          required: ['id', 'count'],
          additionalProperties: false,
        },
      },
      'text/csv': { schema: { type: 'string' } },
    });
  });
});
