/** The demo's incidents: a compressor fails and is repaired, a door is forced and closed, in turn. */
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { findProfile } from '../../devices/index.ts';
import type { LockerFront } from '../../simulators/front.ts';
import { Incidents } from '../../simulators/incidents.ts';
import { LockerThermals } from '../../simulators/thermal.ts';

const MIN = 60_000;
const profile = findProfile('rural-box-8') as NonNullable<ReturnType<typeof findProfile>>;

class Front extends EventEmitter {
  readonly locker = 'box-1';
  readonly profile = profile;
  readonly open = new Set<number>();
  pressCode(): void {}
  openDoor(door: number): boolean {
    this.open.add(door);
    return true;
  }
  closeDoor(door: number): void {
    this.open.delete(door);
  }
  scan(): void {}
  async telemetry(): Promise<void> {}
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('the demo’s incidents', () => {
  it('break a compressor, repair it, force a door, close it, one at a time', () => {
    const front = new Front();
    const thermal = new LockerThermals(profile);
    const log: string[] = [];
    const incidents = new Incidents({
      lockers: [front as unknown as LockerFront],
      thermals: [thermal],
      everyMs: 2 * MIN,
      log: (l) => log.push(l),
      pick: () => 0,
    });
    incidents.start();
    const t1 = thermal.compartments.get('t1');
    expect(t1?.faults.compressorFailed).toBe(false);
    vi.advanceTimersByTime(2 * MIN);
    expect(t1?.faults.compressorFailed).toBe(true);
    expect(log.at(-1)).toMatch(/compressor behind box-1 door 1/);
    vi.advanceTimersByTime(20 * MIN);
    expect(t1?.faults.compressorFailed).toBe(false);
    expect(front.open.size).toBe(0);
    vi.advanceTimersByTime(2 * MIN);
    expect([...front.open]).toEqual([1]);
    expect(t1?.doorOpen).toBe(true);
    vi.advanceTimersByTime(6 * MIN);
    expect(front.open.size).toBe(0);
    expect(t1?.doorOpen).toBe(false);
    incidents.stop();
    expect(log).toHaveLength(4);
  });

  it('leave nothing broken when stopped in the middle of one', () => {
    const front = new Front();
    const thermal = new LockerThermals(profile);
    const incidents = new Incidents({
      lockers: [front as unknown as LockerFront],
      thermals: [thermal],
      everyMs: MIN,
      log: () => {},
      pick: () => 0,
    });
    incidents.start();
    vi.advanceTimersByTime(MIN);
    expect(thermal.compartments.get('t1')?.faults.compressorFailed).toBe(true);
    incidents.stop();
    expect(thermal.compartments.get('t1')?.faults.compressorFailed).toBe(false);
  });
});
