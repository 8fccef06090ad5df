/** A parcel's printable label (hub/domain/parcel-label.ts). */
import { z } from 'zod';
import { LANGUAGES, type TemperatureClass } from '../../devices/index.ts';
import type { Access } from '../domain/access.ts';
import type { ClassRules } from '../domain/coldchain/rules.ts';
import type { CustomerLinks } from '../domain/customer-links.ts';
import type { Fleet } from '../domain/fleet.ts';
import { parcelLabel } from '../domain/parcel-label.ts';
import type { Parcels } from '../domain/parcels.ts';
import type { Voice } from '../domain/voice.ts';
import { defineRoute, type RouteDef, Svg } from './route.ts';

export interface LabelDeps {
  access: Access;
  parcels: Parcels;
  fleet: Fleet;
  links: CustomerLinks;
  voice: Voice;
  rulesFor: (lockerId: string, cls: TemperatureClass) => ClassRules;
}

export function labelRoutes(d: LabelDeps): RouteDef[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/api/v1/parcels/:id/label',
      summary:
        "The parcel's label to print (SVG, A6): how to keep the goods, for whom, where they go and a QR code to follow the parcel (its page without the code: anyone handling the box can scan it), in the recipient's language (or ?language=)",
      roles: ['integration', 'operator', 'producer'],
      scoped: true,
      params: z.object({ id: z.string().min(1).max(64) }),
      query: z.object({ language: z.enum(LANGUAGES).optional() }),
      response: { 200: z.string() },
      svg: true,
      handler: async ({ params, query, principal }) => {
        const p = d.access.parcel(principal, d.parcels.get(params.id));
        // Printed for where it goes: a travelling parcel's destination, else where it waits.
        const locker = p.destination ? p.destination.lockerId : p.lockerId;
        const siteId = p.destination?.siteId ?? (locker ? d.access.siteOf(locker) : undefined) ?? p.siteId;
        const language = query.language ?? p.recipient.language ?? d.voice.ofSite(siteId).language;
        const svg = await parcelLabel({
          parcel: p,
          language,
          site: d.fleet.site(siteId)?.name ?? siteId,
          locker,
          url: d.links.followUrl(p.id),
          rules: d.rulesFor(locker ?? p.lockerId, p.temperatureClass),
        });
        return new Svg(svg);
      },
    }),
  ];
}
