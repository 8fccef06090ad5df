import { describe, expect, it } from 'vitest';
import { newId, newSecret } from '../../hub/domain/secrets.ts';

describe('secrets and ids', () => {
  it('never gives a secret a command line would take for an option', () => {
    // One in 64 base64url strings starts with "-": 2,000 draws would meet about 31 of them.
    const secrets = Array.from({ length: 2000 }, newSecret);
    expect(secrets.filter((s) => s.startsWith('-'))).toEqual([]);
    expect(new Set(secrets).size).toBe(2000);
    expect(secrets.every((s) => /^[A-Za-z0-9_-]{43}$/.test(s))).toBe(true);
  });

  it('gives ids of the documented shape, all different, across refills of the random pool', () => {
    const ids = Array.from({ length: 1000 }, () => newId('P')); // 10 bytes each: two refills of 4 KiB
    expect(ids.every((id) => /^P-[0-9A-HJKMNP-TV-Z]{10}$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(1000);
  });
});
