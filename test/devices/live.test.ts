import { describe, expect, it } from 'vitest';
import { eachReading, type LiveServerMessage } from '../../devices/index.ts';

describe('readings in the live feed', () => {
  it('walks each reading of the compact form: sensors named once, one row per instant, holes skipped', () => {
    // The example of docs/api.md, as it arrives on the wire.
    const m = JSON.parse(
      '{"type":"readings","lockers":{"ferme/box-1":{"t":1796000000000,"s":["t1","t5"],"r":[[0,3.4,-19.2],[30000,3.5],[60000,null,-19.1]]}}}',
    ) as LiveServerMessage;
    if (m.type !== 'readings') throw new Error('unreachable');
    expect([...eachReading(m.lockers)]).toEqual([
      { lockerId: 'ferme/box-1', sensor: 't1', ts: 1796000000000, c: 3.4 },
      { lockerId: 'ferme/box-1', sensor: 't5', ts: 1796000000000, c: -19.2 },
      { lockerId: 'ferme/box-1', sensor: 't1', ts: 1796000030000, c: 3.5 },
      { lockerId: 'ferme/box-1', sensor: 't5', ts: 1796000060000, c: -19.1 },
    ]);
  });

  it('keeps a reading of 0 °C and a sensor called __proto__', () => {
    const lockers = JSON.parse('{"a":{"t":5,"s":["__proto__","x"],"r":[[0,0,-0.5]]}}');
    expect([...eachReading(lockers)].map((r) => [r.sensor, r.c])).toEqual([
      ['__proto__', 0],
      ['x', -0.5],
    ]);
  });
});
