import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeGs1,
  GS,
  gs1CheckDigit,
  gs1Date,
  isValidGtin14,
  isValidSscc,
  parseGs1,
} from '../../devices/index.ts';

const NOW = new Date('2026-11-29T00:00:00Z');

describe('GS1 check digits', () => {
  it('computes the mod-10 check digit and refuses a wrong one', () => {
    // The EAN-13 4006381333931: the same mod-10 rule over 12 digits gives 1.
    expect(gs1CheckDigit('400638133393')).toBe(1);
    // Extension 1, company prefix 0614141, serial 123456789: 3×(9+7+5+3+1+4+4+6+1) + (8+6+4+2+1+1+1+0) = 143 → 7
    expect(gs1CheckDigit('10614141123456789')).toBe(7);
    expect(isValidSscc('106141411234567897')).toBe(true);
    expect(isValidSscc('106141411234567890')).toBe(false);
    expect(isValidSscc('10614141123456789')).toBe(false);
    expect(isValidSscc('10614141123456789a')).toBe(false);
    expect(isValidGtin14('09506000134352')).toBe(true); // the GS1 Digital Link example GTIN
    expect(isValidGtin14('09506000134353')).toBe(false);
  });
});

describe('GS1 dates', () => {
  it("reads YYMMDD, day 00 as the month's last day, and places the century around today", () => {
    expect(gs1Date('261231', NOW)).toBe('2026-12-31');
    expect(gs1Date('270200', NOW)).toBe('2027-02-28');
    expect(gs1Date('280200', NOW)).toBe('2028-02-29');
    expect(gs1Date('991231', NOW)).toBe('1999-12-31');
    expect(gs1Date('261301', NOW)).toBeNull();
    expect(gs1Date('260231', NOW)).toBeNull();
  });
});

describe('GS1 element strings', () => {
  it('reads a GS1-128 label from a scanner: symbology prefix, SSCC', () => {
    const r = parseGs1(']C100106141411234567897', NOW);
    expect(r).toEqual({
      ok: true,
      symbology: 'gs1-128',
      elements: [{ ai: '00', name: 'sscc', value: '106141411234567897' }],
      fields: { sscc: '106141411234567897' },
    });
  });

  it('reads GTIN, expiry, batch and serial with group separators, from a DataMatrix', () => {
    const r = parseGs1(`]d201095060001343521726123110LOT-7B${GS}21SN0042`, NOW);
    expect(r).toMatchObject({
      ok: true,
      symbology: 'gs1-datamatrix',
      fields: { gtin: '09506000134352', expiry: '2026-12-31', batch: 'LOT-7B', serial: 'SN0042' },
    });
  });

  it('accepts the separator substitutes keyboard-mode scanners are set to, and the human-readable form', () => {
    const expected = { gtin: '09506000134352', batch: 'A1', expiry: '2026-12-31' };
    for (const sep of ['<GS>', '{GS}', '\u241d', '|', '^', '~']) {
      expect(parseGs1(`010950600013435210A1${sep}17261231`, NOW), sep).toMatchObject({
        ok: true,
        fields: expected,
      });
    }
    expect(parseGs1('(01)09506000134352(10)A1(17)261231', NOW)).toMatchObject({ ok: true, fields: expected });
  });

  it('reads a net weight with its decimal position, and an order number', () => {
    expect(parseGs1(`3102001250400PO-2026-77`, NOW)).toMatchObject({
      ok: true,
      fields: { netWeightKg: 12.5, orderNumber: 'PO-2026-77' },
    });
  });

  it.each([
    ['00106141411234567890', /wrong check digit/],
    ['0109506000134353', /wrong check digit/],
    ['0109506000', /needs 14 characters/],
    ['17261301', /not a date/],
    ['99ABC', /unknown or unsupported application identifier/],
    [`10${'X'.repeat(21)}`, /1 to 20 characters/],
    ['10LOT#1', /outside GS1's set/],
    ['', /empty/],
  ])('refuses %j with a clear reason', (input, reason) => {
    const r = parseGs1(input, NOW);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(reason);
  });

  it('round-trips element strings (property)', () => {
    const digits = (n: number) => fc.stringMatching(new RegExp(`^[0-9]{${n}}$`));
    const withCheck = (n: number) => digits(n - 1).map((b) => `${b}${gs1CheckDigit(b)}`);
    const text = fc.stringMatching(/^[A-Za-z0-9_.\-/]{1,20}$/);
    const element = fc.oneof(
      withCheck(18).map((v) => ({ ai: '00', value: v })),
      withCheck(14).map((v) => ({ ai: '01', value: v })),
      text.map((v) => ({ ai: '10', value: v })),
      text.map((v) => ({ ai: '21', value: v })),
      fc.constantFrom('261231', '270228', '300101').map((v) => ({ ai: '17', value: v })),
    );
    fc.assert(
      fc.property(fc.array(element, { minLength: 1, maxLength: 5 }), (elements) => {
        const r = parseGs1(encodeGs1(elements), NOW);
        expect(r.ok && r.elements.map((e) => ({ ai: e.ai, value: e.value }))).toEqual(elements);
      }),
    );
  });
});
