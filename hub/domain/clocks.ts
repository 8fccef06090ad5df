/**
 * Each cabinet's clock, as the hub sees it. A Pi without a clock source drifts, or boots at a
 * date long past until NTP answers: its readings and events are stamped on that clock.
 *
 * The offset (hub time at arrival − cabinet time) is set by the cabinet's `state` as it connects:
 * stamped as it is sent, the freshest sample there is. Live telemetry refines it: a message that
 * waited (in the broker, in the bridge's buffer after an outage) only looks later, so the smallest
 * offset seen is the best. Two cases move it otherwise, each confirmed before it counts, so one
 * badly stamped message moves nothing: the clock stepped ahead (two messages in a row agree on a
 * smaller offset), or it stepped back (every message for 5 minutes agrees on a larger one, which a
 * replayed backlog, drained in seconds, never does).
 *
 * Past CLOCK_TOLERANCE_MS the cabinet's times are put on the hub's clock before anything judges
 * them (rules, records, keypad entries); past CLOCK_SKEW_MS a `clock_skew` alarm says so, so an
 * installer fixes the time source (docs/operations.md §7.5).
 */
import type { Db } from '../db/open.ts';
import type { Alarms } from './coldchain/alarms.ts';

/** Offsets smaller than this are network delay, not a clock to correct (ms). */
export const CLOCK_TOLERANCE_MS = 5_000;
/** A cabinet clock off by more than this raises `clock_skew` (warning); it clears under half of it. */
export const CLOCK_SKEW_MS = 60_000;
/** A sample this far from the estimate is a step of the clock, or a badly stamped message. */
const STEP_MS = 60_000;
/** A clock that stepped back shows it in every message for this long. */
const SUSTAINED_MS = 5 * 60_000;

interface Clock {
  /** A new boot may come with a new clock (NTP answered meanwhile): what was learnt goes. */
  bootId: string;
  offset: number;
  /**
   * Set by a `state` (fresh by construction): until then, telemetry alone is not trusted to correct
   * anything (the first message after an outage may be the oldest of a backlog).
   */
  known: boolean;
  /** A smaller offset seen once, waiting for the next message to confirm it. */
  ahead: number | null;
  /** Since when, and the smallest, every message has shown an offset larger by more than STEP_MS. */
  behindSince: number | null;
  behind: number;
}

export class Clocks {
  readonly #by = new Map<string, Clock>();
  /** The offset last written to the store, per cabinet: written again only when it moved by 1 s. */
  readonly #saved = new Map<string, number>();

  constructor(
    private readonly alarms: Alarms,
    /** Where the estimate is kept across hub restarts (a bridge on an external broker stays
     * connected through one, and sends no fresh `state` to learn from). */
    private readonly db?: Db,
    /** Told when the offset applied to a cabinet changed: what was sent on its clock goes again. */
    private readonly onMoved?: (lockerId: string) => void,
  ) {}

  /** The estimate as the store kept it, the first time the hub meets a cabinet. */
  #load(lockerId: string): Clock | undefined {
    let c = this.#by.get(lockerId);
    if (c || !this.db) return c;
    const row = this.db
      .prepare<[string], { clock_boot: string | null; clock_offset: number | null }>(
        'SELECT clock_boot, clock_offset FROM lockers WHERE id = ?',
      )
      .get(lockerId);
    if (!row?.clock_boot || row.clock_offset === null) return undefined;
    c = {
      bootId: row.clock_boot,
      offset: row.clock_offset,
      known: true,
      ahead: null,
      behindSince: null,
      behind: 0,
    };
    this.#by.set(lockerId, c);
    this.#saved.set(lockerId, c.offset);
    return c;
  }

  /**
   * `deviceTs` was stamped by the cabinet just before it sent a message that reached the hub at
   * `now`: its `state` (`connected`) or live telemetry. Raises or clears `clock_skew` as the
   * estimate crosses its bounds (inside a transaction).
   */
  sample(lockerId: string, bootId: string, deviceTs: number, now: number, connected = false): void {
    const d = now - deviceTs;
    let c = this.#load(lockerId);
    const applied = this.offset(lockerId);
    if (c && c.bootId !== bootId && !connected) return; // a backlog of another boot: not this clock
    if (!c || c.bootId !== bootId) {
      // A new boot may come with a new clock (NTP answered meanwhile): what was learnt goes.
      c = { bootId, offset: d, known: connected, ahead: null, behindSince: null, behind: 0 };
      this.#by.set(lockerId, c);
    } else if (connected && !c.known) {
      c.offset = d;
      c.known = true;
    } else if (d >= c.offset - STEP_MS && d <= c.offset + STEP_MS) {
      c.offset = Math.min(c.offset, d);
      c.ahead = null;
      c.behindSince = null;
    } else if (d < c.offset) {
      // Stepped ahead, or one message stamped wrong: the next one tells.
      if (c.ahead !== null && Math.abs(d - c.ahead) <= STEP_MS) {
        c.offset = Math.min(c.ahead, d);
        c.ahead = null;
      } else c.ahead = d;
      c.behindSince = null;
    } else {
      c.ahead = null;
      if (c.behindSince === null) {
        c.behindSince = now;
        c.behind = d;
      } else c.behind = Math.min(c.behind, d);
      if (now - c.behindSince >= SUSTAINED_MS) {
        c.offset = c.behind;
        c.behindSince = null;
      }
    }
    if (!c.known) return;
    if (this.offset(lockerId) !== applied) this.onMoved?.(lockerId);
    const saved = this.#saved.get(lockerId);
    if (this.db && (saved === undefined || Math.abs(saved - c.offset) >= 1000)) {
      this.db
        .prepare('UPDATE lockers SET clock_boot = ?, clock_offset = ? WHERE id = ?')
        .run(c.bootId, c.offset, lockerId);
      this.#saved.set(lockerId, c.offset);
    }
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
    const c = this.#load(lockerId);
    if (!c?.known) return 0;
    return Math.abs(c.offset) > CLOCK_TOLERANCE_MS ? c.offset : 0;
  }

  /** A time stamped by the cabinet, on the hub's clock. */
  toHub(lockerId: string, deviceTs: number): number {
    return deviceTs + this.offset(lockerId);
  }
}
