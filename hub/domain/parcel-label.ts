/**
 * A parcel's label, to print and stick on the box (A6, 105 × 148 mm, SVG: any printer, any size):
 * how the goods are kept, in big letters, for whom and where they go, and a QR code to follow the
 * parcel (hub/domain/customer-links.ts: a page without the code, since anyone handling the box
 * can scan it). Worded in the recipient's language, or the
 * destination site's: the driver and the customer read it at the destination.
 *
 * The keeping limits are those the hub holds the goods to: the site's rules for the class, or the
 * product category's own when tighter (hub/domain/coldchain/rules.ts).
 */
import QRCode from 'qrcode';
import type { Parcel } from '../../devices/api.ts';
import { type Language, PRODUCT_CATEGORIES, say } from '../../devices/index.ts';
import { escapeHtml } from '../html.ts';
import type { ClassRules } from './coldchain/rules.ts';

export interface LabelInput {
  parcel: Parcel;
  language: Language;
  /** The destination's site name and locker id, as printed. */
  site: string;
  locker: string | null;
  /** The page to follow the parcel (never the customer's own link: the label is seen by all). */
  url: string;
  rules: ClassRules;
}

/** What the goods must be kept at: the class's limits, tightened by the category's. */
export function keepRange(
  rules: ClassRules,
  category: Parcel['category'],
): { min: number | null; max: number } {
  const own = category ? PRODUCT_CATEGORIES[category] : undefined;
  const max = Math.min(rules.keepMax, own?.maxC ?? Number.POSITIVE_INFINITY);
  const floors = [rules.keepMin, own?.minC ?? null].filter((x): x is number => x !== null);
  return { min: floors.length ? Math.max(...floors) : null, max };
}

/**
 * A line of text that fits `width` mm: its font made smaller for a long line (a long name, a long
 * site), from the width of an average glyph; a printer has no fonts to measure with.
 */
function text(
  x: number,
  y: number,
  size: number,
  weight: string,
  s: string,
  fill = '#000',
  width = 93,
  anchor = 'start',
): string {
  const fits = Math.min(size, width / (Math.max(1, [...s].length) * (weight === 'bold' ? 0.62 : 0.56)));
  const px = Math.round(fits * 100) / 100;
  return `<text x="${x}" y="${y}" font-size="${px}" font-weight="${weight}" fill="${fill}" text-anchor="${anchor}">${escapeHtml(s)}</text>`;
}

export async function parcelLabel(input: LabelInput): Promise<string> {
  const { parcel: p, language: l } = input;
  const range = keepRange(input.rules, p.category);
  const keep =
    range.min === null
      ? say(l, 'label.keep_below', { max: range.max })
      : say(l, 'label.keep_between', { min: range.min, max: range.max });
  // The QR code's own SVG, placed as a nested picture: its modules stay crisp at any print size.
  const qr = (await QRCode.toString(input.url, { type: 'svg', margin: 0, errorCorrectionLevel: 'M' }))
    .replace(/^<\?xml[^>]*>/, '')
    .replace('<svg ', '<svg x="58" y="78" width="42" height="42" ');
  // [y, size, weight, text], in mm of the label.
  const lines: Array<[number, number, string, string]> = [
    [40, 4.5, 'normal', say(l, 'label.for')],
    [48, 7, 'bold', p.recipient.name],
    [57, 4.5, 'normal', say(l, 'label.to')],
    [64, 6, 'bold', input.site],
    ...(input.locker
      ? [
          [71, 5, 'normal', say(l, 'label.locker', { locker: input.locker })] as [
            number,
            number,
            string,
            string,
          ],
        ]
      : []),
  ];
  const small = [
    say(l, 'label.size', { size: p.size }),
    say(l, 'label.parcel', { id: p.id }),
    ...(p.reference ? [say(l, 'label.reference', { reference: p.reference })] : []),
    ...(p.sscc ? [say(l, 'label.sscc', { sscc: p.sscc })] : []),
  ];
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="105mm" height="148mm" viewBox="0 0 105 148" lang="${l}" font-family="DejaVu Sans, Arial, sans-serif">`,
    '<rect width="105" height="148" fill="#fff"/>',
    // The keeping, white on black: the first thing anyone handling the box sees.
    '<rect x="4" y="4" width="97" height="26" fill="#000"/>',
    text(8, 16, 9, 'bold', say(l, 'label.class', { class: p.temperatureClass }), '#fff'),
    text(8, 25, 5, 'normal', keep, '#fff'),
    ...lines.map(([y, size, weight, s]) => text(8, y, size, weight, s)),
    ...small.map((s, i) => text(8, 86 + i * 6, 3, 'normal', s, '#000', 46)),
    qr,
    text(52.5, 136, 4, 'normal', say(l, 'label.scan'), '#000', 93, 'middle'),
    '</svg>',
  ].join('\n');
}
