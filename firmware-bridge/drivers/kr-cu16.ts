/**
 * Driver for Kerong KR-CU16 lock boards on an RS485 bus (docs/protocol.md §5). One request in
 * flight on the bus at a time, a gap between transactions, every board polled for its lock and
 * item-present bits. A board does not answer an unlock (public drivers of real boards never read a
 * reply to 0x31): the unlock is confirmed by reading the lock status until the latch has moved, and
 * sent again if the first one was lost. Lock-bit polarity is a setting per board; the default is
 * what most boards do (bit set = locked), and `selftest` finds out which one a board uses.
 */
import { EventEmitter } from 'node:events';
import { krcu16, type LockerProfile } from '../../devices/index.ts';
import type { Line } from '../line.ts';
import { type BoardDriver, DriverError, type SelftestRow } from './types.ts';

export type Polarity = 'open-high' | 'open-low';

export const DEFAULT_POLARITY: Polarity = 'open-low';

export interface KrOptions {
  /** Polarity per board address; boards not listed are `open-low` (bit set = locked). */
  polarity?: Record<number, Polarity>;
  pollMs?: number;
  replyTimeoutMs?: number;
  /** Silence on the bus between two transactions, so RS485 transceivers turn around. */
  gapMs?: number;
  /** After an unlock, how long the status is read for the latch to show it moved. */
  confirmMs?: number;
  /** Wait between two status reads while confirming. */
  rereadMs?: number;
}

interface Transaction {
  board: number;
  bytes: Uint8Array;
  /** Resolves with the board's status, or null when no reply is expected and none came. */
  resolve: (s: krcu16.BoardStatus | null) => void;
  reject: (e: Error) => void;
  /** Whether a reply is expected: an unlock is answered by few boards, and by none reliably. */
  answered: boolean;
}

/** How long the bus stays ours after an unlock, in case the board answers it after all. */
const UNLOCK_QUIET_MS = 30;
/** Unlocks sent for one request at most: a second one only when the first left the latch closed. */
const UNLOCK_ATTEMPTS = 2;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class KrCu16Driver extends EventEmitter implements BoardDriver {
  readonly #framer = new krcu16.FixedFramer(krcu16.REPLY_LENGTH);
  readonly #queue: Transaction[] = [];
  readonly #doorAt = new Map<string, number>();
  readonly #at = new Map<number, { board: number; lock: number }>();
  readonly #boards: number[];
  readonly #open = new Map<number, boolean>();
  readonly #present = new Map<number, boolean>();
  #current: (Transaction & { timer: NodeJS.Timeout; received: number }) | undefined;
  #busy = false;
  #poller: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    private readonly line: Line,
    private readonly profile: LockerProfile,
    private readonly opts: KrOptions = {},
  ) {
    super();
    for (const c of profile.compartments) {
      const at = { board: c.lock.board, lock: c.lock.channel + 1 };
      this.#at.set(c.door, at);
      this.#doorAt.set(`${at.board}:${at.lock}`, c.door);
    }
    this.#boards = [...new Set([...this.#at.values()].map((a) => a.board))].sort((a, b) => a - b);
  }

  async start(): Promise<void> {
    this.line.onData((chunk) => {
      const { frames, dropped } = this.#framer.push(chunk);
      const n = dropped.reduce((s, d) => s + d.bytes, 0);
      if (n) this.emit('lineDrops', n);
      for (const f of frames) this.#reply(f);
      // A reply's worth of bytes came and none of it made a reply: garbled on the line. Say so
      // now rather than at the timeout, so the caller reads again at once.
      const current = this.#current;
      if (current) current.received += chunk.length;
      if (current && current.received >= krcu16.REPLY_LENGTH) {
        if (current.answered)
          current.reject(new DriverError('timeout', `board ${current.board}: garbled reply`));
        else current.resolve(null);
      }
    });
    const poll = async () => {
      for (const b of this.#boards) await this.#status(b).catch(() => undefined);
      if (!this.#stopped) this.#poller = setTimeout(() => void poll(), this.opts.pollMs ?? 250);
    };
    await poll();
    this.emit('board', `KR-CU16 bus, boards ${this.#boards.join(', ')}`);
    for (const b of this.#boards) {
      const doors = this.profile.compartments.filter((c) => c.lock.board === b).map((c) => c.door);
      if (doors.length > 1 && doors.every((d) => this.#open.get(d)))
        this.emit(
          'fault',
          'polarity_suspect',
          `board ${b} reports all ${doors.length} doors open: is its polarity right? (casier bridge selftest)`,
        );
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#poller);
    await this.line.close();
  }

  /**
   * Releases a door and resolves once the board's status shows its latch open. A status read
   * garbled or unanswered is read again; an unlock after which the latch stayed closed for
   * `confirmMs` is sent once more (it was lost on the line: the door did not open, so a second
   * one cannot open it twice).
   */
  async unlock(door: number): Promise<void> {
    const at = this.#at.get(door);
    if (!at) throw new DriverError('no_such_door', `no door ${door} in profile ${this.profile.name}`);
    const before = await this.#status(at.board).catch(() => undefined);
    if (before && this.#open.get(door)) {
      this.emit('lockReleased', door);
      return; // already open: a pulse would do nothing a person could see
    }
    for (let attempt = 1; attempt <= UNLOCK_ATTEMPTS; attempt++) {
      const r = await this.#unlockAndWatch(at, () => this.#open.get(door) === true);
      if (r.moved) {
        this.emit('lockReleased', door);
        return;
      }
      if (!r.heard)
        throw new DriverError('timeout', `board ${at.board} did not answer a status read after the unlock`);
    }
    throw new DriverError(
      'refused',
      `board ${at.board} lock ${at.lock} stayed locked after ${UNLOCK_ATTEMPTS} unlocks`,
    );
  }

  /**
   * Sends one unlock, then reads the board's status until `moved` holds of a reading or the latch
   * has had `confirmMs` to move. A read garbled or unanswered is read again; three in a row and
   * the board is taken for silent (`heard` false: the outcome is unknown).
   */
  async #unlockAndWatch(
    at: { board: number; lock: number },
    moved: (s: krcu16.BoardStatus) => boolean,
  ): Promise<{ moved: boolean; heard: boolean; status?: krcu16.BoardStatus }> {
    const request = krcu16.encodeRequest(at.board, krcu16.CMD.unlock, at.lock);
    const reply = await this.#transact(at.board, request, false).catch(() => null);
    if (reply) this.#apply(reply); // a board that answers at all does so before its latch moves
    const until = Date.now() + (this.opts.confirmMs ?? 600);
    let heard = false;
    for (let misses = 0; misses < 3 && !this.#stopped; ) {
      await sleep(this.opts.rereadMs ?? 40);
      const status = await this.#status(at.board).catch(() => undefined);
      if (!status) {
        misses++;
        continue;
      }
      heard = true;
      misses = 0;
      if (moved(status)) return { moved: true, heard, status };
      if (Date.now() >= until) break;
    }
    return { moved: false, heard };
  }

  // KR-CU16 boards drive locks only: no display, no buzzer.
  display(): void {}
  beep(): void {}

  /**
   * Reads every board, pulses every lock (doors closed beforehand) and watches its raw lock bit:
   * a bit that changed proves the lock released, and its value once open tells the board's
   * polarity, reported per board against the configured one.
   */
  async selftest(): Promise<SelftestRow[]> {
    const rows: SelftestRow[] = [];
    for (const b of this.#boards) {
      const s = await this.#status(b).catch((e: Error) => e);
      rows.push({
        part: `board ${b}`,
        channel: `address ${b}`,
        result: s instanceof Error ? 'no answer' : 'ok',
        detail: s instanceof Error ? s.message : 'status read',
      });
    }
    const seen = new Map<number, { high: number; low: number }>();
    for (const c of this.profile.compartments) {
      const at = this.#at.get(c.door) as { board: number; lock: number };
      const p = await this.#pulse(at);
      if (p.openBit !== undefined) {
        const n = seen.get(at.board) ?? { high: 0, low: 0 };
        n[p.openBit ? 'high' : 'low']++;
        seen.set(at.board, n);
      }
      rows.push({
        part: `door ${c.door} lock`,
        channel: `board ${at.board} lock ${at.lock}`,
        result: p.error ? 'no answer' : p.openBit === undefined ? 'failed' : 'ok',
        detail:
          p.error ??
          (p.openBit === undefined
            ? 'released, but its lock bit did not change: door left open, lock not wired, or latch jammed'
            : 'released, lock bit changed'),
      });
    }
    for (const b of this.#boards) {
      const n = seen.get(b);
      const configured = this.#polarity(b);
      if (!n) {
        rows.push({
          part: `board ${b} polarity`,
          channel: `address ${b}`,
          result: 'failed',
          detail: `no lock of this board moved: polarity unknown (configured ${configured})`,
        });
        continue;
      }
      const found: Polarity = n.high > n.low ? 'open-high' : 'open-low';
      const said =
        found === 'open-high' ? 'set lock bit = open (open-high)' : 'set lock bit = locked (open-low)';
      rows.push({
        part: `board ${b} polarity`,
        channel: `address ${b}`,
        result: found === configured ? 'ok' : 'failed',
        detail:
          found === configured
            ? said
            : `${said}, configured ${configured}: run the bridge with --kr-polarity ${b}:${found}`,
      });
    }
    return rows;
  }

  /** One unlock watched on the raw lock bit (self-test): which value the bit took, if it moved. */
  async #pulse(at: { board: number; lock: number }): Promise<{ openBit?: boolean; error?: string }> {
    const mask = 1 << (at.lock - 1);
    const before = await this.#status(at.board).catch((e: Error) => e);
    if (before instanceof Error) return { error: before.message };
    const bit = (s: krcu16.BoardStatus) => (s.lockBits & mask) !== 0;
    for (let attempt = 1; attempt <= UNLOCK_ATTEMPTS; attempt++) {
      const r = await this.#unlockAndWatch(at, (s) => bit(s) !== bit(before));
      if (r.status) return { openBit: bit(r.status) };
      if (!r.heard) return { error: `board ${at.board} did not answer a status read after the unlock` };
    }
    return {};
  }

  #polarity(board: number): Polarity {
    return this.opts.polarity?.[board] ?? DEFAULT_POLARITY;
  }

  #status(board: number): Promise<krcu16.BoardStatus> {
    return this.#transact(board, krcu16.encodeRequest(board, krcu16.CMD.status), true).then((s) => {
      const status = s as krcu16.BoardStatus;
      this.#apply(status);
      return status;
    });
  }

  #apply(s: krcu16.BoardStatus): void {
    const openHigh = this.#polarity(s.board) === 'open-high';
    for (let lock = 1; lock <= 16; lock++) {
      const door = this.#doorAt.get(`${s.board}:${lock}`);
      if (door === undefined) continue;
      const bit = (s.lockBits & (1 << (lock - 1))) !== 0;
      const open = bit === openHigh;
      const wasOpen = this.#open.get(door);
      this.#open.set(door, open);
      // The first reading reports only doors found open; later ones every change.
      if (wasOpen === undefined ? open : wasOpen !== open) this.emit('door', door, open);
      else if (wasOpen === undefined) this.emit('closedAtStart', door);
      const present = (s.presentBits & (1 << (lock - 1))) !== 0;
      const wasPresent = this.#present.get(door);
      this.#present.set(door, present);
      if (wasPresent !== undefined && wasPresent !== present) this.emit('presence', door, present);
    }
  }

  /** Queues a request; the bus carries one at a time. */
  #transact(board: number, bytes: Uint8Array, answered: boolean): Promise<krcu16.BoardStatus | null> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ board, bytes, resolve, reject, answered });
      void this.#pump();
    });
  }

  async #pump(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    while (this.#queue.length && !this.#stopped) {
      const t = this.#queue.shift() as Transaction;
      const ms = t.answered ? (this.opts.replyTimeoutMs ?? 500) : UNLOCK_QUIET_MS;
      await new Promise<void>((done) => {
        const finish = () => {
          clearTimeout(this.#current?.timer);
          this.#current = undefined;
          done();
        };
        const current = {
          ...t,
          received: 0,
          timer: setTimeout(() => {
            if (!t.answered) current.resolve(null);
            else
              current.reject(new DriverError('timeout', `board ${t.board} did not answer within ${ms} ms`));
          }, ms),
          resolve: (s: krcu16.BoardStatus | null) => {
            t.resolve(s);
            finish();
          },
          reject: (e: Error) => {
            t.reject(e);
            finish();
          },
        };
        this.#current = current;
        this.#framer.reset(); // whatever came before belongs to no one
        this.line.write(t.bytes);
      });
      await sleep(this.opts.gapMs ?? 15);
    }
    this.#busy = false;
  }

  #reply(f: Uint8Array): void {
    const s = krcu16.decodeStatusReply(f);
    if (!s || !this.#current || s.board !== this.#current.board) return; // late or foreign answer: ignored
    this.#current.resolve(s);
  }
}
