/**
 * Route declarations: one zod schema per input, validated once here, and one per answer
 * (devices/api.ts), checked against the handler's type at compile time and, while the tests run,
 * against every answer; the same schemas are rendered into the OpenAPI document, so the document
 * cannot drift from what is enforced.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Role, TokenPrincipal } from '../domain/provisioning.ts';
import { HubError } from '../errors.ts';

export interface RouteContext<B, Q, P> {
  body: B;
  query: Q;
  params: P;
  principal: TokenPrincipal;
  request: FastifyRequest;
  reply: FastifyReply;
}

/**
 * What a route answers: exactly one success status (2xx) with its body's schema, or null for no
 * body (204). Errors share one shape (`components.schemas.Error`), so they are not listed.
 */
export type Responses = { [status: number]: z.ZodType | null };

/** A text/csv answer, for a route that declares `csv: true` (JSON stays its default). */
export class Csv {
  constructor(readonly text: string) {}
}

/** An SVG picture (a parcel's label), for a route that declares `svg: true`. */
export class Svg {
  constructor(readonly text: string) {}
}

/** What a handler may return: the body its schema describes (what goes in, before any transform). */
type BodyOf<T> = T extends z.ZodType ? z.input<T> : null;
type Answer<R extends Responses, C extends boolean> =
  | { [S in keyof R]: BodyOf<R[S]> }[keyof R]
  | (C extends true ? Csv | Svg : never);

export interface RouteDef<
  B = unknown,
  Q = unknown,
  P = unknown,
  R extends Responses = Responses,
  C extends boolean = boolean,
> {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  summary: string;
  roles: readonly Role[];
  /**
   * The handler keeps to the token's sites and platform itself (hub/domain/access.ts). A route
   * without it spans the network, and a token limited to sites is refused there.
   */
  scoped?: true;
  body?: z.ZodType<B>;
  query?: z.ZodType<Q>;
  params?: z.ZodType<P>;
  response: R;
  /** The route can also answer text/csv (the handler returns a `Csv`). */
  csv?: C;
  /** The route answers an SVG picture (the handler returns an `Svg`); its schema stays for errors. */
  svg?: C;
  handler: (ctx: RouteContext<B, Q, P>) => Answer<R, C> | Promise<Answer<R, C>>;
}

/** Checks a handler's answer against its route's response schema at compile time. */
export const defineRoute = <B, Q, P, R extends Responses, C extends boolean = false>(
  r: RouteDef<B, Q, P, R, C>,
): RouteDef => r as unknown as RouteDef;

function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) return undefined as T;
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({ path: [where, ...i.path].join('.'), message: i.message }));
  throw new HubError('HUB_ERR_VALIDATION', issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues);
}

/** The route's success status: the one 2xx its `response` declares. */
export function successStatus(r: RouteDef): number {
  const ok = Object.keys(r.response)
    .map(Number)
    .filter((s) => s >= 200 && s < 300);
  if (ok.length !== 1)
    throw new Error(`${r.method} ${r.url} must declare exactly one success status, not [${ok.join(', ')}]`);
  return ok[0] as number;
}

/**
 * The answer as it goes on the wire (JSON round trip: undefined fields dropped, dates as strings),
 * checked against the route's declared schema. A mismatch is the hub's bug: 500, with each
 * difference named, so a response that drifted from its contract fails the test that sees it.
 */
function checkAnswer(r: RouteDef, status: number, answer: unknown, request: FastifyRequest): void {
  const schema = r.response[status];
  let problems: string[] = [];
  if (answer instanceof Csv) {
    if (!r.csv) problems = ['a CSV answer from a route that does not declare csv'];
  } else if (answer instanceof Svg) {
    if (!r.svg) problems = ['an SVG answer from a route that does not declare svg'];
  } else if (schema === null || schema === undefined) {
    if (answer !== null && answer !== undefined) problems = [`a body for status ${status}, declared empty`];
  } else {
    const wire = answer === undefined ? undefined : JSON.parse(JSON.stringify(answer));
    const result = schema.safeParse(wire);
    if (!result.success)
      problems = result.error.issues.map((i) => `${['body', ...i.path].join('.')}: ${i.message}`);
  }
  if (!problems.length) return;
  const message = `${r.method} ${r.url} answered outside its response schema: ${problems.join('; ')}`;
  request.log.error({ problems }, message);
  throw new HubError('HUB_ERR_INTERNAL', message, problems);
}

export function registerRoutes(
  app: FastifyInstance,
  routes: readonly RouteDef[],
  authenticate: (req: FastifyRequest) => TokenPrincipal,
  opts: { checkResponses?: boolean } = {},
): void {
  for (const r of routes) {
    const status = successStatus(r);
    app.route({
      method: r.method,
      url: r.url,
      handler: async (request, reply) => {
        const principal = authenticate(request);
        if (!r.roles.includes(principal.role)) {
          throw new HubError('HUB_ERR_FORBIDDEN', `role ${principal.role} may not ${r.method} ${r.url}`);
        }
        if (principal.sites !== null && !r.scoped) {
          throw new HubError(
            'HUB_ERR_FORBIDDEN',
            `this token is limited to sites ${principal.sites.join(', ')}; ${r.method} ${r.url} spans the network`,
          );
        }
        const ctx = {
          params: parse(r.params, request.params, 'params'),
          query: parse(r.query, request.query, 'query'),
          body: parse(r.body, request.body, 'body'),
          principal,
          request,
          reply,
        };
        const result = await r.handler(ctx);
        if (opts.checkResponses) checkAnswer(r, status, result, request);
        if (status !== 200) reply.code(status);
        if (result instanceof Svg) {
          reply.type('image/svg+xml; charset=utf-8');
          return result.text;
        }
        if (!(result instanceof Csv)) return result;
        reply.type('text/csv; charset=utf-8');
        return result.text;
      },
    });
  }
}

const jsonSchema = (s: z.ZodType, io: 'input' | 'output' = 'input') =>
  z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Record<string, unknown>;

function responses(r: RouteDef) {
  const out: Record<string, unknown> = {};
  for (const [status, schema] of Object.entries(r.response)) {
    const content: Record<string, unknown> = {};
    if (schema && !r.svg) content['application/json'] = { schema: jsonSchema(schema, 'output') };
    if (schema && r.csv) content['text/csv'] = { schema: { type: 'string' } };
    if (r.svg) content['image/svg+xml'] = { schema: { type: 'string' } };
    out[status] = schema ? { description: 'OK', content } : { description: 'No content' };
  }
  return out;
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query') {
  if (!schema) return [];
  const js = jsonSchema(schema) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || (js.required ?? []).includes(name),
    schema: s,
  }));
}

export function openApiDocument(routes: readonly RouteDef[], version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.url.replace(/:([A-Za-z]+)/g, '{$1}');
    paths[path] ??= {};
    paths[path][r.method.toLowerCase()] = {
      summary: r.summary,
      description: `Roles: ${r.roles.join(', ')}.${r.scoped ? ' Kept to the token’s sites and platform.' : ' Not for tokens limited to sites.'}`,
      security: [{ bearer: [] }],
      parameters: [...parameters(r.params, 'path'), ...parameters(r.query, 'query')],
      ...(r.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(r.body) } } } }
        : {}),
      responses: {
        ...responses(r),
        default: {
          description: 'Error',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'casier hub API', version },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} },
            },
          },
        },
      },
    },
    paths,
  };
}
