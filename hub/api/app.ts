/** The fastify app factory: built apart from `listen` so tests can `inject()` or listen on port 0. */

import { timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, sep } from 'node:path';
import fastifyStatic from '@fastify/static';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import type { Provisioning, TokenPrincipal } from '../domain/provisioning.ts';
import { ERRORS, HubError } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import { openApiDocument, type RouteDef, registerRoutes } from './route.ts';

export interface AppDeps {
  routes: RouteDef[];
  provisioning: Provisioning;
  metrics: Metrics;
  log: Logger;
  version: string;
  /** The built dashboard (index.html and hashed assets), served at `/`. */
  dashboardDir?: string;
  /** Resolves once what was committed so far is on disk: answers to writes wait for it. */
  durable?: () => Promise<void>;
  /**
   * Check every answer against its route's response schema (a drifted one answers 500). Costs a
   * JSON round trip and a parse per answer: on in the tests (CASIER_CHECK_RESPONSES=1, set by
   * vitest.config.ts), off in production.
   */
  checkResponses?: boolean;
  /** `/metrics` answers only a request carrying this bearer token (none: open, as on a private network). */
  metricsToken?: string;
  /** Serve the dashboard's source maps (development); production serves none. */
  sourceMaps?: boolean;
}

/** Whether an Authorization header carries exactly `token`, compared in constant time. */
function bearerIs(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header?.startsWith('Bearer ') ? header.slice(7) : '');
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What a page of the dashboard may load and connect to: only the hub itself. */
const CSP = [
  "default-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "style-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

const BEARER = /^Bearer ([A-Za-z0-9_-]{10,200})$/;

export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: 64 * 1024,
    logController: new LogController({ disableRequestLogging: true }),
  });
  const openapi = openApiDocument(deps.routes, deps.version);

  const authenticate = (req: FastifyRequest): TokenPrincipal => {
    const m = BEARER.exec(req.headers.authorization ?? '');
    if (!m)
      throw new HubError('HUB_ERR_UNAUTHENTICATED', 'send an API token as "Authorization: Bearer <token>"');
    const p = deps.provisioning.authenticateToken(m[1] as string);
    if (!p) throw new HubError('HUB_ERR_UNAUTHENTICATED', 'unknown or revoked token');
    return p;
  };

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof HubError) {
      return reply
        .code(err.status)
        .send({ error: { code: err.code, message: err.message, details: err.details } });
    }
    const e = err as { statusCode?: number; code?: string; message: string };
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      // fastify's own rejections: unparsable JSON, wrong content type, body too large
      return reply
        .code(e.statusCode)
        .send({ error: { code: 'HUB_ERR_VALIDATION', message: e.message, details: { fastify: e.code } } });
    }
    req.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: { code: 'HUB_ERR_INTERNAL', message: 'internal error' } });
  });
  app.setNotFoundHandler((req, reply) =>
    reply
      .code(ERRORS.HUB_ERR_NOT_FOUND)
      .send({ error: { code: 'HUB_ERR_NOT_FOUND', message: `no route ${req.method} ${req.url}` } }),
  );

  app.addHook('onSend', async (req, reply, payload) => {
    // A write is answered once it would survive a power cut; a failed sync is a failed request.
    if (deps.durable && !READS.has(req.method)) {
      try {
        await deps.durable();
      } catch (err) {
        req.log.error({ err }, 'the store could not sync a write');
        reply.code(500).type('application/json; charset=utf-8');
        payload = JSON.stringify({
          error: { code: 'HUB_ERR_INTERNAL', message: 'the store could not write to disk' },
        });
      }
    }
    reply.header('x-content-type-options', 'nosniff');
    if (String(reply.getHeader('content-type') ?? '').startsWith('text/html')) {
      // A page that set its own, stricter policy (the customer's page) keeps it.
      if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', CSP);
      reply.header('referrer-policy', 'no-referrer');
    }
    return payload;
  });
  const dashboard = deps.dashboardDir && existsSync(join(deps.dashboardDir, 'index.html'));
  if (dashboard) {
    void app.register(fastifyStatic, {
      root: deps.dashboardDir as string,
      prefix: '/',
      // index.html is read again on every visit; the hashed assets it names never change.
      cacheControl: false,
      preCompressed: true,
      // The maps give the dashboard's source away, comments and all: served only when asked for.
      allowedPath: (path: string) => !!deps.sourceMaps || !path.endsWith('.map'),
      setHeaders: (res, path) =>
        res.setHeader(
          'cache-control',
          path.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
        ),
    });
  } else {
    app.get('/', async (_req, reply) =>
      reply
        .code(503)
        .type('text/html; charset=utf-8')
        .send(
          '<!doctype html><title>casier</title><p>The dashboard is not built: run <code>npm run build</code>, then restart the hub. The API is at <a href="/api/v1">/api/v1</a>.</p>',
        ),
    );
  }
  app.get('/api/v1', async () => ({
    name: 'casier hub',
    version: deps.version,
    api: '/api/v1',
    openapi: '/api/v1/openapi.json',
  }));
  app.get('/healthz', async () => ({ ok: true }));
  app.get('/api/v1/openapi.json', async () => openapi);
  app.get('/metrics', async (req, reply) => {
    if (deps.metricsToken && !bearerIs(req.headers.authorization, deps.metricsToken))
      return reply
        .code(401)
        .send({ error: { code: 'HUB_ERR_UNAUTHENTICATED', message: '/metrics needs its bearer token' } });
    reply.header('content-type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
  registerRoutes(app, deps.routes, authenticate, {
    checkResponses: deps.checkResponses ?? process.env.CASIER_CHECK_RESPONSES === '1',
  });
  return app;
}
