/**
 * The platform's side of the customer's page: the parcel's link and its QR code (to put in an
 * order confirmation or a message; never on the box, whose label carries the page to follow it),
 * and extending a pickup window over the API.
 */
import QRCode from 'qrcode';
import { z } from 'zod';
import * as api from '../../devices/api.ts';
import type { Access } from '../domain/access.ts';
import type { CustomerLinks } from '../domain/customer-links.ts';
import type { Parcels } from '../domain/parcels.ts';
import { EXTEND_LIMITS, type PickupWindows } from '../domain/pickup-window.ts';
import { defineRoute, type RouteDef } from './route.ts';

export interface CustomerRouteDeps {
  access: Access;
  parcels: Parcels;
  links: CustomerLinks;
  windows: PickupWindows;
  now: () => number;
}

const id = z.string().min(1).max(64);

export function customerRoutes(d: CustomerRouteDeps): RouteDef[] {
  return [
    defineRoute({
      method: 'POST',
      url: '/api/v1/parcels/:id/extend',
      summary: `Extend a parcel's pickup window by up to ${EXTEND_LIMITS.maxHoursPerCall} hours while it waits for its customer, whatever its site's customer policy (a window is never longer than ${EXTEND_LIMITS.maxWindowMs / 86_400_000} days); its pickup code follows`,
      roles: ['integration', 'operator'],
      scoped: true,
      params: z.object({ id }),
      body: z
        .object({
          /** Whole hours: a window moved by minutes again and again is a customer reminded again and again. */
          hours: z.number().int().min(1).max(EXTEND_LIMITS.maxHoursPerCall),
        })
        .strict(),
      response: { 200: api.parcel },
      handler: ({ params, body, principal }) => {
        d.access.parcel(principal, d.parcels.get(params.id));
        return d.windows.extend(
          params.id,
          body.hours,
          principal.role === 'operator' ? 'operator' : 'integration',
          `token:${principal.id}`,
          d.now(),
        );
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/parcels/:id/customer-link',
      summary:
        "The parcel's page for its customer (no account: the link is the key) and the link as an SVG QR code, to send with the order or a message (never to print on the box: the label's QR code is the page to follow the parcel)",
      roles: ['integration', 'operator'],
      scoped: true,
      params: z.object({ id }),
      response: { 200: api.customerLink },
      handler: async ({ params, principal }) => {
        d.access.parcel(principal, d.parcels.get(params.id));
        const url = d.links.url(params.id);
        // Level M still reads with about 15 % of the symbol scuffed; the quiet zone is the standard 4 modules.
        const qrSvg = await QRCode.toString(url, { type: 'svg', errorCorrectionLevel: 'M', margin: 4 });
        return { url, qrSvg };
      },
    }),
  ];
}
