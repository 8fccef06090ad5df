import { describe, expect, it } from 'vitest';
import { gs1CheckDigit, isValidSscc } from '../../devices/index.ts';

describe('SSCC', () => {
  it('computes the mod-10 check digit and refuses a wrong one', () => {
    // The EAN-13 4006381333931: the same mod-10 rule over 12 digits gives 1.
    expect(gs1CheckDigit('400638133393')).toBe(1);
    // Extension 1, company prefix 0614141, serial 123456789: 3×(9+7+5+3+1+4+4+6+1) + (8+6+4+2+1+1+1+0) = 143 → 7
    expect(gs1CheckDigit('10614141123456789')).toBe(7);
    expect(isValidSscc('106141411234567897')).toBe(true);
    expect(isValidSscc('106141411234567890')).toBe(false);
    expect(isValidSscc('10614141123456789')).toBe(false);
    expect(isValidSscc('10614141123456789a')).toBe(false);
  });
});
