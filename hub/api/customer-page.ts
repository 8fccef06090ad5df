/**
 * The customer's parcel page at `/c/<token>` (docs/api.md "The customer's page"): no account, the
 * link's token is the key (hub/domain/customer-links.ts). Plain HTML forms post back to the same
 * address: "Extend" answers 303 to the page again (so reloading does not extend twice), "Show my
 * code" answers the page with the code, once. A token that names no parcel, however malformed,
 * gets the same 404 page. Nothing is cached or indexed, and no address leaks to another site.
 * `/f/<parcel>/<mac>`, the label's link, shows the same page to follow the parcel: no code, no
 * button, nothing to post.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Language } from '../../devices/index.ts';
import type { CustomerLinks } from '../domain/customer-links.ts';
import type { ParcelPages } from '../domain/parcel-page.ts';
import type { PickupWindows } from '../domain/pickup-window.ts';
import { HubError } from '../errors.ts';
import { PAGE_CSP, type PageNotice, renderNotFound, renderParcelPage } from './customer-html.ts';

export interface CustomerPageDeps {
  links: CustomerLinks;
  pages: ParcelPages;
  windows: PickupWindows;
  /** The hub's language: the 404 page's, since no parcel says whose it is. */
  language: Language;
  now: () => number;
}

const NOTICES: ReadonlySet<string> = new Set<PageNotice>(['extended', 'not_extended']);

function html(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', PAGE_CSP)
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-store')
    .header('x-robots-tag', 'noindex, nofollow')
    .send(body);
}

/** The page's routes, in their own scope: the form parser they need stays out of the API's. */
export function customerPage(d: CustomerPageDeps) {
  return async (scope: FastifyInstance) => {
    // The forms send one field (`do`); a larger body is no form of ours.
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 1024 },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    const parcelOf = (token: string) => d.links.parcelOf(token);

    scope.get<{ Params: { token: string }; Querystring: { m?: string } }>('/c/:token', async (req, reply) => {
      const id = parcelOf(req.params.token);
      if (!id) return html(reply, 404, renderNotFound(d.language));
      const m = req.query.m;
      const notice = m && NOTICES.has(m) ? (m as PageNotice) : undefined;
      return html(reply, 200, renderParcelPage(d.pages.view(id, d.now()), { notice }));
    });

    // The label's link: the same page without the code or the buttons, and nothing to post.
    scope.get<{ Params: { parcel: string; mac: string } }>('/f/:parcel/:mac', async (req, reply) => {
      const id = d.links.followed(req.params.parcel, req.params.mac);
      if (!id) return html(reply, 404, renderNotFound(d.language));
      const view = d.pages.view(id, d.now());
      return html(reply, 200, renderParcelPage({ ...view, extend: null, canReveal: false }, {}));
    });

    scope.post<{ Params: { token: string }; Body: { do?: string } | undefined }>(
      '/c/:token',
      async (req, reply) => {
        const token = req.params.token;
        const id = parcelOf(token);
        if (!id) return html(reply, 404, renderNotFound(d.language));
        const action = req.body?.do;
        const now = d.now();
        if (action === 'extend') {
          let done = true;
          try {
            d.windows.extendByCustomer(id, now);
          } catch (err) {
            if (!(err instanceof HubError) || err.status !== 409) throw err;
            done = false;
          }
          // Back to the page by GET: a reload shows it again, it does not extend again.
          return reply
            .code(303)
            .header('location', `${token}?m=${done ? 'extended' : 'not_extended'}`)
            .send();
        }
        if (action === 'code') {
          try {
            const { code } = d.pages.reveal(id, now);
            return html(reply, 200, renderParcelPage(d.pages.view(id, now), { code }));
          } catch (err) {
            if (!(err instanceof HubError) || err.status !== 409) throw err;
            return html(reply, 409, renderParcelPage(d.pages.view(id, now), { notice: 'code_refused' }));
          }
        }
        return reply.code(303).header('location', token).send();
      },
    );
  };
}
