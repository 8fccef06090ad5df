/**
 * Webhook subscriptions: an integration registers where its parcels' state changes go; an
 * operator, where every alarm's life goes (raised, notified again, acknowledged, cleared).
 */
import { z } from 'zod';
import * as api from '../../devices/api.ts';
import type { Webhooks } from '../domain/notify/webhooks.ts';
import { HubError } from '../errors.ts';
import { defineRoute, type RouteDef } from './route.ts';

export function webhookRoutes(webhooks: Webhooks): RouteDef[] {
  return [
    defineRoute({
      method: 'POST',
      url: '/api/v1/webhooks',
      summary:
        'Register a webhook: an integration gets the state changes of the parcels it creates, an operator every alarm (raised, notified again, acknowledged, cleared); the signing secret is shown once',
      roles: ['integration', 'operator'],
      scoped: true,
      body: z.object({ url: z.url({ protocol: /^https?$/ }).max(500) }).strict(),
      response: { 201: api.webhookCreated },
      handler: async ({ body, principal }) => {
        // An operator's webhook carries every site's alarms; an integration's, its own parcels'.
        if (principal.role === 'operator' && principal.sites !== null)
          throw new HubError(
            'HUB_ERR_FORBIDDEN',
            'alarm webhooks span the network: not for a token limited to sites',
          );
        await webhooks.checkTarget(body.url);
        return webhooks.register(
          principal.id,
          body.url,
          principal.role === 'operator' ? 'alarms' : 'parcels',
        );
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/webhooks',
      summary: "This token's webhooks",
      roles: ['integration', 'operator'],
      scoped: true,
      response: { 200: api.webhookList },
      handler: ({ principal }) => ({ webhooks: webhooks.list(principal.id) }),
    }),
    defineRoute({
      method: 'DELETE',
      url: '/api/v1/webhooks/:id',
      summary: 'Stop a webhook (deliveries already queued are not sent)',
      roles: ['integration', 'operator'],
      scoped: true,
      params: z.object({ id: z.string().max(64) }),
      response: { 204: null },
      handler: ({ params, principal }) => {
        webhooks.remove(principal.id, params.id);
        return null;
      },
    }),
  ];
}
