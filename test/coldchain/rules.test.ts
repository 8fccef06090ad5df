import { describe, expect, it } from 'vitest';
import {
  type Change,
  collectBefore,
  DEFAULT_RULES,
  initialState,
  meanKineticTemperature,
  step,
} from '../../hub/domain/coldchain/rules.ts';

const MIN = 60_000;
/** Feeds one reading a minute; returns every change with its minute. */
function run(temps: number[], rules = DEFAULT_RULES.chilled) {
  let state = initialState();
  const out: Array<Change & { minute: number }> = [];
  temps.forEach((c, minute) => {
    const r = step(state, minute * MIN, c, rules);
    state = r.state;
    out.push(...r.changes.map((x) => ({ ...x, minute })));
  });
  return out;
}

describe('cold-chain rules (chilled)', () => {
  it('raise nothing for a 30-second door opening, nor for 20 minutes just above +4 °C', () => {
    expect(run([3, 3, 6, 3, 3])).toEqual([]);
    expect(run([3, ...Array(21).fill(4.5), 3])).toEqual([]); // above for 20 min, not more
  });

  it('warn once the temperature stayed above +4 °C for more than 20 minutes', () => {
    const changes = run([3, ...Array(25).fill(5)]);
    expect(changes).toEqual([
      { level: 'warning', side: 'high', change: 'raise', at: 22 * MIN, since: MIN, minute: 22 },
    ]);
  });

  it('go critical above +8 °C for more than 10 minutes, and clear once back under it for as long', () => {
    // 14 minutes above +4 °C in all: the warning's 20 minutes never run out
    const temps = [3, ...Array(12).fill(9), 7.8, 7.4, 3.9, ...Array(12).fill(3.4)];
    const changes = run(temps).map((c) => `${c.minute}:${c.level}:${c.change}`);
    // Under +7.5 °C (the hysteresis) from minute 14: cleared ten minutes later.
    expect(changes).toEqual(['12:critical:raise', '24:critical:clear']);
  });

  it('keeps a raised alarm inside the hysteresis band', () => {
    const changes = run([3, ...Array(22).fill(5), 3.8, 3.7, ...Array(22).fill(3.4)]).map(
      (c) => `${c.minute}:${c.change}`,
    );
    expect(changes).toEqual(['22:raise', '45:clear']); // under +3.5 °C from 25, for 20 minutes
  });

  it('do not start the count again for a good reading between warm ones', () => {
    // Five warm minutes, one good reading, five warm, one good…: 20 warm minutes by minute 25.
    const temps = [3, ...Array.from({ length: 5 }, () => [9, 9, 9, 9, 9, 3]).flat()];
    const changes = run(temps, DEFAULT_RULES.chilled).map((c) => `${c.minute}:${c.level}:${c.change}`);
    expect(changes).toContain('14:critical:raise'); // past 10 warm minutes, dips not counted
  });

  it('end an episode once back under the threshold for as long as the delay', () => {
    // Nine warm minutes, then ten good ones: the count starts again, and nine more raise nothing.
    expect(run([3, ...Array(9).fill(9), ...Array(11).fill(3), ...Array(9).fill(9), 3])).toEqual([]);
    // With one good minute less, the second stretch completes the first.
    expect(run([3, ...Array(9).fill(9), ...Array(10).fill(3), ...Array(9).fill(9), 3])).not.toEqual([]);
  });
});

describe('cold-chain rules (chilled goods freezing)', () => {
  it('warn under 0 °C after the warning’s delay, go critical under −2 °C after 30 minutes', () => {
    // A compressor stuck on: −4 °C for 90 minutes.
    const changes = run([2, ...Array(90).fill(-4), ...Array(40).fill(2)]).map(
      (c) => `${c.minute}:${c.side}:${c.level}:${c.change}`,
    );
    // Back at +2 °C from minute 91: each level clears once back for as long as its delay.
    expect(changes).toEqual([
      '22:low:warning:raise',
      '32:low:critical:raise',
      '111:low:warning:clear',
      '121:low:critical:clear',
    ]);
  });

  it('raise nothing for a dip to −0.5 °C of a few minutes', () => {
    expect(run([2, -0.5, -0.5, -0.5, 1, 2])).toEqual([]);
  });
});

describe('cold-chain rules (frozen)', () => {
  it('warn for a freezer cycling −19 ↔ −11 °C every 20 minutes, though it dips under −18 °C each cycle', () => {
    // A triangle wave: 20 minutes a cycle, 10 down from −11 to −19, 10 back up.
    const temps = Array.from({ length: 180 }, (_, m) => {
      const phase = m % 20;
      return phase < 10 ? -11 - 0.8 * phase : -19 + 0.8 * (phase - 10);
    });
    const changes = run(temps, DEFAULT_RULES.frozen).map((c) => `${c.level}:${c.change}`);
    // Above −18 °C 15 minutes a cycle: warned within two cycles, and never cleared while it cycles.
    // (Above −15 °C only 9 minutes at a stretch: the parcels' cumulative rule holds them, below.)
    expect(changes).toEqual(['warning:raise']);
  });
});

describe('mean kinetic temperature', () => {
  it('matches a hand computation', () => {
    // Two hours at 2 °C and one at 12 °C: MKT = 10000 / −ln((2e^(−10000/275.15) + e^(−10000/285.15)) / 3) − 273.15
    const hand = 10000 / -Math.log((2 * Math.exp(-10000 / 275.15) + Math.exp(-10000 / 285.15)) / 3) - 273.15;
    expect(meanKineticTemperature([2, 2, 12])).toBeCloseTo(hand, 10);
    expect(hand).toBeCloseTo(6.78, 2); // above the arithmetic mean (5.33): MKT weighs heat more
    expect(meanKineticTemperature([4, 4, 4])).toBeCloseTo(4, 10);
    expect(meanKineticTemperature([])).toBeNull();
  });
});

describe('collect before, above the critical limit already', () => {
  it('does not slide: the delay runs out once its time above is counted', () => {
    let state = initialState();
    const readings: Array<{ ts: number; c: number }> = [];
    const at: number[] = [];
    for (let m = 0; m <= 9; m++) {
      const c = 9 + m * 0.1; // above +8 °C from minute 0
      readings.push({ ts: m * MIN, c });
      state = step(state, m * MIN, c, DEFAULT_RULES.chilled).state;
      if (m % 3 === 0 && m > 0)
        at.push(collectBefore(readings.slice(-15), DEFAULT_RULES.chilled, state.critical) as number);
    }
    // Critical once more than 10 minutes above, counted from minute 0: the same answer each time.
    expect(at).toEqual([10 * MIN, 10 * MIN, 10 * MIN]);
  });
});

describe('collect before', () => {
  it('extrapolates the rise to the critical limit plus its delay', () => {
    // +0.1 °C a minute from +5 °C at minute 0…10: +8 °C reached at minute 30, critical 10 minutes later.
    const recent = Array.from({ length: 11 }, (_, m) => ({ ts: m * MIN, c: 5 + m / 10 }));
    expect(collectBefore(recent, DEFAULT_RULES.chilled)).toBe(40 * MIN);
    expect(
      collectBefore(
        recent.map((r) => ({ ...r, c: 5 })),
        DEFAULT_RULES.chilled,
      ),
    ).toBeNull();
    expect(collectBefore(recent, DEFAULT_RULES.ambient)).toBeNull();
  });

  it('gives nothing for a flat series whose rounding leaves a tiny rise (was a date past year 275760)', () => {
    // 4.3 fifteen times: the mean is not exactly 4.3 in floating point, so the fitted slope is a
    // hair above zero and the limit "reached" some 10^20 ms ahead; the advice then threw, and the
    // whole flush of readings failed with it, again at every retry.
    const recent = Array.from({ length: 15 }, (_, m) => ({ ts: Date.UTC(2026, 11, 7) + m * MIN, c: 4.3 }));
    expect(collectBefore(recent, DEFAULT_RULES.chilled)).toBeNull();
    // A rise too slow to reach the limit within a day is no advice either.
    const slow = recent.map((r, m) => ({ ...r, c: 4.3 + m * 0.0001 }));
    expect(collectBefore(slow, DEFAULT_RULES.chilled)).toBeNull();
  });
});
