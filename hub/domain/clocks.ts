/**
 * Each cabinet's clock, as the hub sees it. A Pi without a clock source drifts, or boots at a
 * date long past until NTP answers: its readings and events are stamped on that clock. The hub
 * estimates the offset from the messages a cabinet sends the moment it stamps them (its `state`
 * on connecting, its live telemetry): offset = hub time at arrival − cabinet time, the smallest
 * over the last few minutes (a message delayed or replayed from a buffer only looks later).
 *
 * Past CLOCK_TOLERANCE_MS the cabinet's times are corrected onto the hub's clock before anything
 * judges them (rules, records, stale keypad entries); past CLOCK_SKEW_MS a `clock_skew` alarm says
 * so, so an installer fixes the time source (docs/operations.md, "Time").
 */
import type { Alarms } from './coldchain/alarms.ts';

/** Offsets smaller than this are network delay, not a clock to correct (ms). */
export const CLOCK_TOLERANCE_MS = 5_000;
/** A cabinet clock off by more than this raises `clock_skew` (warning); it clears under half of it. */
export const CLOCK_SKEW_MS = 60_000;
/** How long a sample counts, and how many are kept per cabinet. */
const WINDOW_MS = 10 * 60_000;
const SAMPLES = 32;

interface Clock {
  /** A new boot may come with a new clock (NTP answered meanwhile): what was learnt goes. */
  bootId: string;
  samples: Array<{ at: number; offset: number }>;
  offset: number;
}

export class Clocks {
  readonly #by = new Map<string, Clock>();

  constructor(private readonly alarms: Alarms) {}

  /**
   * `deviceTs` was stamped by the cabinet just before it sent the message that reached the hub at
   * `now`. Raises or clears `clock_skew` as the estimate crosses its bounds (inside a transaction).
   */
  sample(lockerId: string, bootId: string, deviceTs: number, now: number): void {
    let c = this.#by.get(lockerId);
    if (!c || c.bootId !== bootId) {
      c = { bootId, samples: [], offset: 0 };
      this.#by.set(lockerId, c);
    }
    c.samples.push({ at: now, offset: now - deviceTs });
    while (c.samples.length > SAMPLES || (c.samples[0] && c.samples[0].at < now - WINDOW_MS))
      c.samples.shift();
    // The smallest arrival − stamp: the message that waited least.
    c.offset = c.samples.reduce((min, s) => Math.min(min, s.offset), Number.POSITIVE_INFINITY);
    const off = Math.abs(c.offset);
    if (off > CLOCK_SKEW_MS) {
      this.alarms.raise({
        lockerId,
        sensor: null,
        kind: 'clock_skew',
        level: 'warning',
        at: now,
        details: { offsetMs: c.offset, ahead: c.offset < 0 },
      });
    } else if (off < CLOCK_SKEW_MS / 2) {
      this.alarms.clear(lockerId, null, 'clock_skew', 'warning', now);
    }
  }

  /** The cabinet's estimated offset (hub − cabinet, ms); 0 while within the tolerance or unknown. */
  offset(lockerId: string): number {
    const o = this.#by.get(lockerId)?.offset ?? 0;
    return Math.abs(o) > CLOCK_TOLERANCE_MS ? o : 0;
  }

  /** A time stamped by the cabinet, on the hub's clock. */
  toHub(lockerId: string, deviceTs: number): number {
    return deviceTs + this.offset(lockerId);
  }
}
