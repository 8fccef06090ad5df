import { describe, expect, it } from 'vitest';
import { checkProfile, findProfile, lockerProfile, PROFILES } from '../../devices/index.ts';

describe('cabinet profiles', () => {
  it.each(PROFILES.map((p) => [p.name, p] as const))('%s is consistent', (_name, p) => {
    expect(checkProfile(p)).toEqual([]);
    expect(p.compartments.every((c) => c.temperatureClass === 'ambient' || c.sensor)).toBe(true);
  });

  it('has unique names and at least one chilled compartment per cabinet', () => {
    expect(new Set(PROFILES.map((p) => p.name)).size).toBe(PROFILES.length);
    for (const p of PROFILES) expect(p.compartments.some((c) => c.temperatureClass === 'chilled')).toBe(true);
  });

  it('reports each inconsistency as path: message', () => {
    const base = findProfile('rural-box-8');
    if (!base) throw new Error('missing profile');
    const broken = lockerProfile.parse({
      ...base,
      compartments: [
        { ...base.compartments[0], door: 1 },
        { ...base.compartments[1], door: 4, lock: base.compartments[0]?.lock, sensor: 'nope' },
        { ...base.compartments[2], door: 2, sensor: undefined },
      ],
    });
    expect(checkProfile(broken)).toEqual([
      'compartments: doors must be numbered 1..3 without gaps',
      'compartments.4.lock: channel 0:0 used twice',
      'compartments.4.sensor: unknown sensor nope',
      'compartments.2.sensor: a chilled compartment needs a sensor',
    ]);
  });
});
