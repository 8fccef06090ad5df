import { describe, expect, it } from 'vitest';
import { BASE_MS, CABINET_BRAKE, FREE_FAILURES, KeypadThrottle, MAX_MS } from '../../devices/index.ts';

describe('keypad throttle', () => {
  it('lets a few mistakes pass, then doubles the lockout up to the cap; a success forgives a few only', () => {
    const t = new KeypadThrottle(CABINET_BRAKE);
    let now = 0;
    for (let i = 0; i < FREE_FAILURES; i++) expect(t.fail('box', now)).toBe(0);
    expect(t.blockedFor('box', now)).toBe(0);
    const waits: number[] = [];
    for (let i = 0; i < 12; i++) {
      const w = t.fail('box', now);
      waits.push(w);
      now += w;
    }
    expect(waits.slice(0, 3)).toEqual([BASE_MS, 2 * BASE_MS, 4 * BASE_MS]);
    // The score decays during the lockouts (one failure per 10 min): the waits level off below the cap.
    expect(Math.max(...waits)).toBeLessThanOrEqual(MAX_MS);
    expect(waits.at(-1)).toBeGreaterThanOrEqual(4 * BASE_MS);
    expect(t.blockedFor('other', now)).toBe(0);
    t.succeed('box', now);
    expect(t.fail('box', now)).toBeGreaterThan(0); // past the free ones still: 3 forgiven, not all
  });
});
