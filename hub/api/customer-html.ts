/**
 * The customer's parcel page as HTML: written on the server, no script, every text from the
 * catalogue (devices/texts/page.ts) and every value escaped. Phone first: one column, large
 * buttons, nothing wider than the screen. Its one stylesheet is inline and allowed by its hash
 * in the page's Content-Security-Policy, so the page needs nothing else from anywhere.
 */
import { createHash } from 'node:crypto';
import { type Language, type MessageKey, say, when } from '../../devices/index.ts';
import type { Journey, ParcelPageView } from '../domain/parcel-page.ts';
import { escapeHtml } from '../html.ts';

const CSS = `
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:17px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2320;background:#f4f5f0}
main{max-width:34rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.25rem 0 .75rem}
h2{font-size:1.15rem;margin:0 0 .5rem}
p{margin:.5rem 0;overflow-wrap:anywhere}
.ref{color:#5b625e;font-size:.9rem}
.card{background:#fff;border-radius:.75rem;padding:1rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}
.card+.card{margin-top:1rem}
.lead{font-size:1.2rem;font-weight:600}
.where{font-size:1.35rem;font-weight:700}
.notice{border-left:4px solid #2f7d4f;background:#e8f3ec;padding:.6rem .8rem;border-radius:.4rem}
.notice.refused{border-color:#a4402b;background:#f8e9e5}
.code{margin:1rem 0;text-align:center;background:#1d2320;color:#fff;border-radius:.75rem;padding:1rem}
.code strong{display:block;font:700 2.2rem/1.2 ui-monospace,Menlo,Consolas,monospace;letter-spacing:.15em;overflow-wrap:anywhere}
.code small{display:block;opacity:.8}
form{margin:.75rem 0 0}
button{width:100%;min-height:3rem;font:inherit;font-weight:600;border:0;border-radius:.6rem;padding:.7rem 1rem;background:#2f7d4f;color:#fff;cursor:pointer}
button.second{background:#fff;color:#2f7d4f;border:2px solid #2f7d4f}
.hint{color:#5b625e;font-size:.9rem}
`;

/** The page's policy: nothing but its own inline style, its forms posting back to the hub. */
export const PAGE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(CSS).digest('base64')}'`,
  "img-src 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** A notice at the top of the page after an action: only these, whatever a URL says. */
export type PageNotice = 'extended' | 'not_extended' | 'code_refused';

/** A duration as a customer reads it: "6 h 12 min", "2 days 3 h 0 min". */
export function duration(ms: number, language: Language): string {
  const total = Math.max(0, Math.round(ms / 60_000));
  // Twenty seconds in a van were twenty seconds unwatched: not "0 min".
  if (ms > 0 && total === 0) return say(language, 'page.under_a_minute');
  const days = Math.floor(total / 1440);
  return say(language, 'page.duration', {
    days,
    hours: Math.floor((total % 1440) / 60),
    minutes: total % 60,
  }).trim();
}

function shell(language: Language, title: string, body: string): string {
  return `<!doctype html>
<html lang="${language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body><main>
${body}
</main></body>
</html>
`;
}

/** The parcel's page; `code`: the pickup code, shown once on the answer to "Show my code". */
export function renderParcelPage(
  v: ParcelPageView,
  opts: { notice?: PageNotice; code?: string } = {},
): string {
  const t = (key: MessageKey, values?: Record<string, string | number>) =>
    escapeHtml(say(v.language, key, values));
  const at = (ms: number) => when(ms, v.language, v.timeZone, 'day');
  const site = v.site?.name ?? '';
  const out: string[] = [`<h1>${t('page.title')}</h1>`];
  if (v.reference) out.push(`<p class="ref">${t('page.reference', { reference: v.reference })}</p>`);
  if (opts.notice === 'extended' && v.pickupExpiresAt !== null)
    out.push(`<p class="notice" role="status">${t('page.extended', { time: at(v.pickupExpiresAt) })}</p>`);
  if (opts.notice === 'not_extended')
    out.push(`<p class="notice refused" role="status">${t('page.not_extended')}</p>`);
  if (opts.notice === 'code_refused')
    out.push(`<p class="notice refused" role="status">${t('page.code_refused')}</p>`);
  const card: string[] = [];
  switch (v.stage) {
    case 'coming':
      card.push(`<p class="lead">${t('page.coming', { site })}</p>`);
      card.push(
        `<p>${v.lockerId ? t('page.coming_locker', { locker: v.lockerId }) : t('page.coming_site')}</p>`,
      );
      break;
    case 'ready': {
      const locker = v.lockerId ?? '';
      const door = v.door ?? 0;
      card.push(`<p class="lead">${t('page.ready', { site })}</p>`);
      card.push(`<p class="where">${t('page.where', { locker, door })}</p>`);
      card.push(`<p>${t('page.how', { locker, door })}</p>`);
      if (v.pickupExpiresAt !== null)
        card.push(`<p class="until">${t('page.until', { time: at(v.pickupExpiresAt) })}</p>`);
      if (opts.code)
        card.push(
          `<div class="code" role="status"><small>${t('page.code')}</small><strong data-code>${escapeHtml(opts.code)}</strong><small>${t('page.code_note')}</small></div>`,
        );
      else if (v.canReveal)
        card.push(
          `<form method="post"><button type="submit" name="do" value="code">${t('page.show_code')}</button></form>`,
        );
      if (v.extend) {
        card.push(
          `<form method="post"><button class="second" type="submit" name="do" value="extend">${t('page.extend', { hours: v.extend.hours })}</button></form>`,
        );
        card.push(`<p class="hint">${t('page.extend_left', { left: v.extend.left })}</p>`);
      }
      break;
    }
    case 'held':
      card.push(`<p class="lead">${t('page.held')}</p>`);
      break;
    case 'expired':
      card.push(
        `<p class="lead">${
          v.deposited && v.pickupExpiresAt !== null
            ? t('page.expired', { time: at(v.pickupExpiresAt) })
            : t('page.never_arrived')
        }</p>`,
      );
      break;
    case 'cancelled':
      card.push(`<p class="lead">${t('page.cancelled')}</p>`);
      break;
    case 'withdrawn':
      card.push(`<p class="lead">${t('page.withdrawn')}</p>`);
      break;
    case 'collected':
      card.push(`<p class="lead">${t('page.collected', { time: at(v.pickedUpAt ?? 0) })}</p>`);
      break;
  }
  out.push(`<section class="card" data-stage="${v.stage}">${card.join('\n')}</section>`);
  if (v.journey) out.push(journey(v.journey, v.language));
  return shell(v.language, say(v.language, 'page.title'), out.join('\n'));
}

function journey(j: Journey, language: Language): string {
  const t = (key: MessageKey, values?: Record<string, string | number>) =>
    escapeHtml(say(language, key, values));
  const range =
    j.range.min === null
      ? say(language, 'page.range_max', { max: j.range.max })
      : say(language, 'page.range', { min: j.range.min, max: j.range.max });
  const lines: string[] = [];
  lines.push(
    j.min === null || j.max === null
      ? t('page.no_readings')
      : t('page.kept', { min: j.min, max: j.max, duration: duration(j.watchedMs, language) }),
  );
  if (j.vanMs > 0) lines.push(t('page.van', { duration: duration(j.vanMs, language) }));
  if (j.unwatchedMs > 0) lines.push(t('page.unwatched', { duration: duration(j.unwatchedMs, language) }));
  const verdict =
    j.verdict === 'ok'
      ? t('page.verdict_ok', { range })
      : j.verdict === 'breached'
        ? t('page.verdict_breached', { range })
        : j.verdict === 'unknown'
          ? t('page.verdict_unknown', { range })
          : j.outOfRangeMs >= 60_000
            ? t('page.verdict_excursion', { range, duration: duration(j.outOfRangeMs, language) })
            : t('page.verdict_excursion_brief', { range });
  lines.push(verdict);
  return `<section class="card journey" data-verdict="${j.verdict}"><h2>${t('page.journey')}</h2>${lines
    .map((l) => `<p>${l}</p>`)
    .join('\n')}</section>`;
}

/** The page every link that leads nowhere gets: the same, whatever was wrong with it. */
export function renderNotFound(language: Language): string {
  return shell(
    language,
    say(language, 'page.not_found_title'),
    `<h1>${escapeHtml(say(language, 'page.not_found_title'))}</h1>\n<p>${escapeHtml(say(language, 'page.not_found'))}</p>`,
  );
}
