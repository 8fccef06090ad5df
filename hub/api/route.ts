/**
 * Route declarations: one zod schema per input, validated once here, and the same schemas
 * rendered into the OpenAPI document, so the document cannot drift from what is enforced.
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

export interface RouteDef<B = unknown, Q = unknown, P = unknown> {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  summary: string;
  roles: readonly Role[];
  body?: z.ZodType<B>;
  query?: z.ZodType<Q>;
  params?: z.ZodType<P>;
  status?: number;
  handler: (ctx: RouteContext<B, Q, P>) => unknown;
}

export const defineRoute = <B, Q, P>(r: RouteDef<B, Q, P>): RouteDef => r as unknown as RouteDef;

function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) return undefined as T;
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({ path: [where, ...i.path].join('.'), message: i.message }));
  throw new HubError('HUB_ERR_VALIDATION', issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues);
}

export function registerRoutes(
  app: FastifyInstance,
  routes: readonly RouteDef[],
  authenticate: (req: FastifyRequest) => TokenPrincipal,
): void {
  for (const r of routes) {
    app.route({
      method: r.method,
      url: r.url,
      handler: async (request, reply) => {
        const principal = authenticate(request);
        if (!r.roles.includes(principal.role)) {
          throw new HubError('HUB_ERR_FORBIDDEN', `role ${principal.role} may not ${r.method} ${r.url}`);
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
        if (r.status) reply.code(r.status);
        return result;
      },
    });
  }
}

const jsonSchema = (s: z.ZodType) =>
  z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;

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
      description: `Roles: ${r.roles.join(', ')}.`,
      security: [{ bearer: [] }],
      parameters: [...parameters(r.params, 'path'), ...parameters(r.query, 'query')],
      ...(r.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(r.body) } } } }
        : {}),
      responses: {
        [String(r.status ?? 200)]: { description: 'OK' },
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
