import { describe, expect, it } from 'vitest';
import { BASE_MS, FREE_FAILURES, KeypadThrottle, MAX_MS } from '../../devices/index.ts';

describe('keypad throttle', () => {
  it('lets a few mistakes pass, then doubles the lockout up to the cap, and resets on success', () => {
    const t = new KeypadThrottle();
    let now = 0;
    for (let i = 0; i < FREE_FAILURES; i++) expect(t.fail('box', now)).toBe(0);
    expect(t.blockedFor('box', now)).toBe(0);
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      const w = t.fail('box', now);
      waits.push(w);
      now += w;
    }
    expect(waits.slice(0, 3)).toEqual([BASE_MS, 2 * BASE_MS, 4 * BASE_MS]);
    expect(waits.at(-1)).toBe(MAX_MS);
    expect(t.blockedFor('other', now)).toBe(0);
    t.succeed('box');
    expect(t.fail('box', now)).toBe(0);
  });
});
