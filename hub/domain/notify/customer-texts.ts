/**
 * A customer's notice written out (devices/texts/notices.ts): the e-mail's subject, its text
 * and an HTML part drawn from the same text, and the SMS folded to the GSM alphabet.
 */
import { type Language, say } from '../../../devices/index.ts';
import { escapeHtml } from '../../html.ts';
import type { Written } from './channels.ts';
import type { NoticeKind } from './customer.ts';
import { gsm7 } from './sms.ts';

export interface NoticeValues {
  /** The recipient's name. */
  name: string;
  /** The pickup site's name. */
  site: string;
  locker: string;
  door: number;
  /** The window's end, as the site reads it. */
  end: string;
  /** Hours left before it. */
  hours: number;
  /** The site it was going to (a reroute). */
  from: string;
  /** The parcel's page. */
  link: string;
}

export function writeNotice(kind: NoticeKind, language: Language, v: NoticeValues): Written {
  const values = { ...v };
  const body = say(language, `notices.${kind}_body`, values);
  const footer = say(language, 'notices.footer', values);
  return {
    subject: say(language, `notices.${kind}_subject`, values),
    text: `${body}\n\n-- \n${footer}\n`,
    html: html(body, footer, v.link),
    sms: gsm7(say(language, `notices.${kind}_sms`, values)),
  };
}

/** The text as paragraphs, the page's link a link. */
function html(body: string, footer: string, link: string): string {
  const a = `<a href="${escapeHtml(link)}">${escapeHtml(link)}</a>`;
  const paragraphs = body
    .split(/\n{2,}/)
    .map((p) => `<p>${escapeHtml(p).split(escapeHtml(link)).join(a).replace(/\n/g, '<br>')}</p>`)
    .join('\n');
  return `<!doctype html>\n<html><body style="font-family:sans-serif;line-height:1.4">\n${paragraphs}\n<p style="color:#666;font-size:small">${escapeHtml(footer)}</p>\n</body></html>\n`;
}
