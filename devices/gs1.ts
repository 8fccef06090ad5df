/**
 * GS1 identifiers and element strings, as barcode scanners deliver them (GS1 General
 * Specifications §3 and §7.8): SSCC (00), GTIN (01), batch (10), expiry (17) and a few more,
 * with check digits verified and dates checked. Pure.
 */

/** GS1 mod-10 check digit over the digits before it (weights 3,1,3,… from the right). */
export function gs1CheckDigit(body: string): number {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    const digit = body.charCodeAt(body.length - 1 - i) - 48;
    sum += digit * (i % 2 === 0 ? 3 : 1);
  }
  return (10 - (sum % 10)) % 10;
}

const checked = (n: number) => (s: string) =>
  new RegExp(`^[0-9]{${n}}$`).test(s) && gs1CheckDigit(s.slice(0, -1)) === Number(s.at(-1));

/** An SSCC is 18 digits, the last one the GS1 check digit. */
export const isValidSscc = checked(18);
/** A GTIN written on 14 digits (GTIN-8/12/13 padded with zeros on the left). */
export const isValidGtin14 = checked(14);

export const GS = '\u001d';

interface AiSpec {
  name: string;
  /** Fixed length of the data, or the maximum for a variable-length AI (ended by GS). */
  length: number;
  fixed: boolean;
  kind: 'numeric' | 'text' | 'date';
  check?: (v: string) => boolean;
}

/** The application identifiers casier reads; others are refused with their AI named. */
const AIS: Record<string, AiSpec> = {
  '00': { name: 'sscc', length: 18, fixed: true, kind: 'numeric', check: isValidSscc },
  '01': { name: 'gtin', length: 14, fixed: true, kind: 'numeric', check: isValidGtin14 },
  '02': { name: 'contentGtin', length: 14, fixed: true, kind: 'numeric', check: isValidGtin14 },
  '10': { name: 'batch', length: 20, fixed: false, kind: 'text' },
  '11': { name: 'productionDate', length: 6, fixed: true, kind: 'date' },
  '13': { name: 'packagingDate', length: 6, fixed: true, kind: 'date' },
  '15': { name: 'bestBefore', length: 6, fixed: true, kind: 'date' },
  '17': { name: 'expiry', length: 6, fixed: true, kind: 'date' },
  '21': { name: 'serial', length: 20, fixed: false, kind: 'text' },
  '30': { name: 'count', length: 8, fixed: false, kind: 'numeric' },
  '37': { name: 'countOfItems', length: 8, fixed: false, kind: 'numeric' },
  '400': { name: 'orderNumber', length: 30, fixed: false, kind: 'text' },
};
/** Net weight in kg, 3100-3105: six digits, the last digit of the AI says where the decimal point is. */
const NET_WEIGHT = /^310[0-5]$/;

export interface Gs1Element {
  ai: string;
  name: string;
  value: string;
}

export type Gs1Parse =
  | { ok: true; symbology: string | null; elements: Gs1Element[]; fields: Record<string, string | number> }
  | { ok: false; error: string };

/** GS1 dates are YYMMDD; a day of 00 means the last day of the month; years within 50 years back or 49 ahead. */
export function gs1Date(yymmdd: string, now = new Date()): string | null {
  if (!/^[0-9]{6}$/.test(yymmdd)) return null;
  const yy = Number(yymmdd.slice(0, 2));
  const mm = Number(yymmdd.slice(2, 4));
  let dd = Number(yymmdd.slice(4, 6));
  if (mm < 1 || mm > 12) return null;
  const century = Math.floor(now.getUTCFullYear() / 100) * 100;
  let year = century + yy;
  const diff = year - now.getUTCFullYear();
  if (diff >= 51) year -= 100;
  else if (diff <= -50) year += 100;
  const last = new Date(Date.UTC(year, mm, 0)).getUTCDate();
  if (dd === 0) dd = last;
  if (dd > last) return null;
  return `${year}-${String(mm).padStart(2, '0')}-${String(dd).padStart(2, '0')}`;
}

const SYMBOLOGIES: Record<string, string> = {
  ']C1': 'gs1-128',
  ']d2': 'gs1-datamatrix',
  ']Q3': 'gs1-qr',
  ']e0': 'gs1-databar',
  ']J1': 'gs1-dotcode',
};

/**
 * Normalises what scanners send: a symbology identifier prefix, the separator as GS, or as one
 * of the substitutes keyboard-mode scanners are set up with (`<GS>`, `{GS}`, `␝`, `|`, `^`, `~`:
 * none of them is in GS1's character set 82, so none can be data).
 */
function normalise(raw: string): { symbology: string | null; text: string } {
  let text = raw.trim();
  let symbology: string | null = null;
  const prefix = text.slice(0, 3);
  if (SYMBOLOGIES[prefix]) {
    symbology = SYMBOLOGIES[prefix] as string;
    text = text.slice(3);
  }
  text = text.replace(/<GS>|\{GS\}|\u241d|[|^~]/g, GS);
  if (text.startsWith(GS)) text = text.slice(1); // a leading FNC1
  return { symbology, text };
}

function aiAt(text: string, i: number): string | null {
  for (const n of [2, 3, 4]) {
    const ai = text.slice(i, i + n);
    if (AIS[ai] || NET_WEIGHT.test(ai)) return ai;
  }
  return null;
}

/** Parses an element string: raw (with separators) or human-readable "(01)…(17)…". */
export function parseGs1(raw: string, now = new Date()): Gs1Parse {
  if (raw.length > 512) return { ok: false, error: 'too long' };
  const { symbology, text: normalised } = normalise(raw);
  // Human-readable form: the parentheses delimit the AIs, so no separators are needed.
  const text = normalised.startsWith('(')
    ? normalised.replace(/\(([0-9]{2,4})\)/g, `${GS}$1`).slice(1)
    : normalised;
  const elements: Gs1Element[] = [];
  const fields: Record<string, string | number> = {};
  let i = 0;
  while (i < text.length) {
    const ai = aiAt(text, i);
    if (!ai)
      return {
        ok: false,
        error: `unknown or unsupported application identifier at "${text.slice(i, i + 4)}"`,
      };
    const spec: AiSpec = AIS[ai] ?? { name: 'netWeightKg', length: 6, fixed: true, kind: 'numeric' };
    i += ai.length;
    let value: string;
    if (spec.fixed) {
      value = text.slice(i, i + spec.length);
      i += spec.length;
      if (text[i] === GS) i++; // a separator after a fixed field is tolerated
    } else {
      const end = text.indexOf(GS, i);
      value = text.slice(i, end < 0 ? undefined : end);
      i = end < 0 ? text.length : end + 1;
    }
    if (spec.fixed && value.length !== spec.length)
      return { ok: false, error: `(${ai}) needs ${spec.length} characters, got ${value.length}` };
    if (!spec.fixed && (value.length === 0 || value.length > spec.length))
      return { ok: false, error: `(${ai}) takes 1 to ${spec.length} characters` };
    if (spec.kind !== 'text' && !/^[0-9]+$/.test(value))
      return { ok: false, error: `(${ai}) must be digits` };
    if (spec.kind === 'text' && !/^[!"%&'()*+,\-./0-9:;<=>?A-Z_a-z]+$/.test(value))
      return { ok: false, error: `(${ai}) has characters outside GS1's set` };
    if (spec.check && !spec.check(value)) return { ok: false, error: `(${ai}) ${value}: wrong check digit` };
    let field: string | number = value;
    if (spec.kind === 'date') {
      const date = gs1Date(value, now);
      if (!date) return { ok: false, error: `(${ai}) ${value} is not a date` };
      field = date;
    } else if (NET_WEIGHT.test(ai)) {
      field = Number(value) / 10 ** Number(ai[3]);
    } else if (spec.kind === 'numeric' && !spec.check) {
      field = Number(value);
    }
    elements.push({ ai, name: spec.name, value });
    fields[spec.name] = field;
  }
  if (elements.length === 0) return { ok: false, error: 'empty' };
  return { ok: true, symbology, elements, fields };
}

/** Builds a raw element string (for simulators and tests): GS after each variable-length field but the last. */
export function encodeGs1(elements: ReadonlyArray<{ ai: string; value: string }>): string {
  return elements
    .map((e, i) => {
      const fixed = AIS[e.ai]?.fixed ?? NET_WEIGHT.test(e.ai);
      return `${e.ai}${e.value}${!fixed && i < elements.length - 1 ? GS : ''}`;
    })
    .join('');
}
