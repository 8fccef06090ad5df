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
  /** An unlock and the reads that confirm it go before the polling. */
  urgent: boolean;
}

/** How long the bus stays ours after an unlock, in case the board answers it after all. */
const UNLOCK_QUIET_MS = 30;
/** Unlocks sent for one request at most: a second one only when the first left the latch closed. */
const UNLOCK_ATTEMPTS = 2;
/** An unlock's outcome is known within this, whatever the bus (docs/protocol.md §2.5, §5.3). */
export const UNLOCK_BUDGET_MS = 2500;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class KrCu16Driver extends EventEmitter implements BoardDriver {
  readonly #framer = new krcu16.FixedFramer(krcu16.REPLY_LENGTH);
  readonly #queue: Transaction[] = [];
  readonly #doorAt = new Map<string, number>();
  /** Doors whose item sensor is fitted (the profile's `presence`). */
  readonly #sensed = new Set<number>();
  readonly #at = new Map<number, { board: number; lock: number }>();
  readonly #boards: number[];
  readonly #open = new Map<number, boolean>();
  readonly #present = new Map<number, boolean>();
  /** Polarities learnt from unlocks, where the configured one proved wrong. */
  readonly #learned = new Map<number, Polarity>();
  /** The bytes of the request on the bus, as an RS485 adapter with local echo sends them back. */
  #echo: Uint8Array | undefined;
  #echoAt = 0;
  #current: (Transaction & { timer: NodeJS.Timeout }) | undefined;
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
      if (c.presence) this.#sensed.add(c.door);
    }
    this.#boards = [...new Set([...this.#at.values()].map((a) => a.board))].sort((a, b) => a - b);
  }

  async start(): Promise<void> {
    this.line.onData((chunk) => this.#receive(chunk));
    const poll = async () => {
      for (const b of this.#boards) await this.#status(b).catch(() => undefined);
      if (!this.#stopped) this.#poller = setTimeout(() => void poll(), this.opts.pollMs ?? 250);
    };
    await poll();
    this.emit('board', `KR-CU16 bus, boards ${this.#boards.join(', ')}`);
    for (const b of this.#boards) {
      const doors = this.profile.compartments.filter((c) => c.lock.board === b).map((c) => c.door);
      const open = doors.filter((d) => this.#open.get(d)).length;
      if (doors.length > 1 && open > doors.length / 2)
        this.emit(
          'fault',
          'polarity_suspect',
          `board ${b} reports ${open} of ${doors.length} doors open: is its polarity right? (casier bridge selftest)`,
        );
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#poller);
    // Nothing waits forever on a bus nobody drives any more.
    const stopped = () => new DriverError('link_failed', 'the driver stopped');
    for (const t of this.#queue.splice(0)) t.reject(stopped());
    this.#current?.reject(stopped());
    await this.line.close();
  }

  /**
   * Releases a door and resolves once the board's status shows its latch open, within
   * UNLOCK_BUDGET_MS. The lock bit is read before the unlock and watched after it: a bit that
   * changed is the latch released, and the value it took is what "open" reads like on this board
   * (a board set up with the wrong polarity is corrected so, and says so). A bit that did not
   * change on a door that already read open is a door open already. A status read garbled or
   * unanswered is read again; an unlock after which the latch stayed closed for `confirmMs` is sent
   * once more (it was lost on the line: the door did not open, so a second one cannot open it twice).
   */
  async unlock(door: number): Promise<void> {
    const at = this.#at.get(door);
    if (!at) throw new DriverError('no_such_door', `no door ${door} in profile ${this.profile.name}`);
    const deadline = Date.now() + UNLOCK_BUDGET_MS;
    const mask = 1 << (at.lock - 1);
    const before = await this.#status(at.board, true).catch(() => undefined);
    const moved = (s: krcu16.BoardStatus) =>
      before ? (s.lockBits & mask) !== (before.lockBits & mask) : this.#open.get(door) === true;
    let heard = before !== undefined;
    for (let attempt = 1; attempt <= UNLOCK_ATTEMPTS && Date.now() < deadline; attempt++) {
      const r = await this.#unlockAndWatch(at, moved, deadline);
      heard ||= r.heard;
      if (r.status) {
        if (before) this.#learn(at.board, (r.status.lockBits & mask) !== 0, r.status);
        this.emit('lockReleased', door);
        return;
      }
      // Pulsed and unchanged, on a door that read open before: it is open.
      if (before && r.heard && this.#open.get(door)) {
        this.emit('lockReleased', door);
        return;
      }
      if (!r.heard) break;
    }
    if (!heard)
      throw new DriverError('timeout', `board ${at.board} did not answer a status read around the unlock`);
    throw new DriverError(
      'refused',
      `board ${at.board} lock ${at.lock} stayed locked after ${UNLOCK_ATTEMPTS} unlocks`,
    );
  }

  /**
   * A lock bit seen changing at an unlock took the value "open" has on this board. If the board was
   * set up the other way, its polarity is corrected for the rest of this run, its doors read again
   * from `status`, and the installer told (`polarity_corrected`: set `--kr-polarity` for good).
   */
  #learn(board: number, openBit: boolean, status: krcu16.BoardStatus): void {
    const found: Polarity = openBit ? 'open-high' : 'open-low';
    if (found === this.#polarity(board)) return;
    this.#learned.set(board, found);
    this.emit(
      'fault',
      'polarity_corrected',
      `board ${board}: a lock released reads ${openBit ? 'set' : 'clear'}, so the board is ${found}; start the bridge with --kr-polarity ${this.#polaritySetting()}`,
    );
    this.#apply(status);
  }

  /** The `--kr-polarity` value for every board as this driver now reads them. */
  #polaritySetting(found?: Map<number, Polarity>): string {
    return this.#boards.map((b) => `${b}:${found?.get(b) ?? this.#polarity(b)}`).join(',');
  }

  /**
   * Sends one unlock, then reads the board's status (ahead of the polling) until `moved` holds of
   * a reading, the latch has had `confirmMs` to move, or `deadline` passes. A read garbled or
   * unanswered is read again; three in a row and the board is taken for silent (`heard` false:
   * the outcome is unknown). `status` is the reading that moved, if one did.
   */
  async #unlockAndWatch(
    at: { board: number; lock: number },
    moved: (s: krcu16.BoardStatus) => boolean,
    deadline: number,
  ): Promise<{ heard: boolean; status?: krcu16.BoardStatus }> {
    const request = krcu16.encodeRequest(at.board, krcu16.CMD.unlock, at.lock);
    const reply = await this.#transact(at.board, request, false, true).catch(() => null);
    if (reply) this.#apply(reply); // a board that answers at all does so before its latch moves
    const until = Math.min(deadline, Date.now() + (this.opts.confirmMs ?? 600));
    let heard = false;
    for (let misses = 0; misses < 3 && !this.#stopped && Date.now() < deadline; ) {
      await sleep(this.opts.rereadMs ?? 40);
      const status = await this.#status(at.board, true).catch(() => undefined);
      if (!status) {
        misses++;
        continue;
      }
      heard = true;
      misses = 0;
      if (moved(status)) return { heard, status };
      if (Date.now() >= until) break;
    }
    return { heard };
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
    const found = new Map<number, Polarity>();
    for (const [b, n] of seen) if (n.high !== n.low) found.set(b, n.high > n.low ? 'open-high' : 'open-low');
    for (const b of this.#boards) {
      const configured = this.#polarity(b);
      const f = found.get(b);
      const said = f === 'open-high' ? 'set lock bit = open (open-high)' : 'set lock bit = locked (open-low)';
      rows.push({
        part: `board ${b} polarity`,
        channel: `address ${b}`,
        result: f === configured ? 'ok' : 'failed',
        detail: !f
          ? seen.has(b)
            ? `as many locks read open set as clear: polarity unknown (configured ${configured}); check the wiring`
            : `no lock of this board moved: polarity unknown (configured ${configured})`
          : f === configured
            ? said
            : `${said}, configured ${configured}: run the bridge with --kr-polarity ${this.#polaritySetting(found)}`,
      });
    }
    return rows;
  }

  /** One unlock watched on the raw lock bit (self-test): which value the bit took, if it moved. */
  async #pulse(at: { board: number; lock: number }): Promise<{ openBit?: boolean; error?: string }> {
    const mask = 1 << (at.lock - 1);
    const before = await this.#status(at.board, true).catch((e: Error) => e);
    if (before instanceof Error) return { error: before.message };
    const bit = (s: krcu16.BoardStatus) => (s.lockBits & mask) !== 0;
    const deadline = Date.now() + UNLOCK_BUDGET_MS;
    for (let attempt = 1; attempt <= UNLOCK_ATTEMPTS; attempt++) {
      const r = await this.#unlockAndWatch(at, (s) => bit(s) !== bit(before), deadline);
      if (r.status) return { openBit: bit(r.status) };
      if (!r.heard) return { error: `board ${at.board} did not answer a status read after the unlock` };
    }
    return {};
  }

  #polarity(board: number): Polarity {
    return this.#learned.get(board) ?? this.opts.polarity?.[board] ?? DEFAULT_POLARITY;
  }

  /** Reads a board's status; `urgent`: ahead of the polling (an unlock waits on it). */
  #status(board: number, urgent = false): Promise<krcu16.BoardStatus> {
    const request = krcu16.encodeRequest(board, krcu16.CMD.status);
    return this.#transact(board, request, true, urgent).then((s) => {
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
      // What is inside before the door: goods taken out and the door shut between two readings
      // were taken out first, and the hub judges a closing by what is inside then.
      const present = (s.presentBits & (1 << (lock - 1))) !== 0;
      const wasPresent = this.#present.get(door);
      this.#present.set(door, present);
      // A door with an item sensor (profile) reports what is inside from the first reading on.
      if (wasPresent === undefined ? this.#sensed.has(door) : wasPresent !== present)
        this.emit('presence', door, present);
      const wasOpen = this.#open.get(door);
      this.#open.set(door, open);
      // The first reading reports only doors found open; later ones every change.
      if (wasOpen === undefined ? open : wasOpen !== open) this.emit('door', door, open);
      else if (wasOpen === undefined) this.emit('closedAtStart', door);
    }
  }

  /** Queues a request (`urgent`: ahead of those not urgent); the bus carries one at a time. */
  #transact(
    board: number,
    bytes: Uint8Array,
    answered: boolean,
    urgent = false,
  ): Promise<krcu16.BoardStatus | null> {
    return new Promise((resolve, reject) => {
      if (this.#stopped) return reject(new DriverError('link_failed', 'the driver stopped'));
      const t = { board, bytes, resolve, reject, answered, urgent };
      if (!urgent) this.#queue.push(t);
      else {
        const at = this.#queue.findIndex((q) => !q.urgent);
        this.#queue.splice(at < 0 ? this.#queue.length : at, 0, t);
      }
      void this.#pump();
    });
  }

  /**
   * Bytes from the bus. An RS485 adapter with local echo sends our request back first: skipped.
   * Garbage (a transceiver turning around) is dropped; a frame from another board is ignored; a
   * reply that fails its checksum ends the read at once, as failed, so the caller reads again
   * rather than wait for the timeout.
   */
  #receive(chunk: Uint8Array): void {
    let bytes = chunk;
    const echo = this.#echo;
    if (echo) {
      // Held while they match the start of our request; dropped once all of it came back, handed
      // on as they were if they part from it (a reply also starts 02, with the same address).
      let i = 0;
      while (i < bytes.length && this.#echoAt < echo.length && bytes[i] === echo[this.#echoAt]) {
        i++;
        this.#echoAt++;
      }
      if (this.#echoAt === echo.length) {
        this.#echo = undefined;
        bytes = bytes.subarray(i);
      } else if (i < bytes.length) {
        bytes = Uint8Array.from([...echo.subarray(0, this.#echoAt - i), ...bytes]);
        this.#echo = undefined;
      } else return; // all of it may still be the echo
    }
    const { frames, dropped } = this.#framer.push(bytes);
    const n = dropped.reduce((sum, d) => sum + d.bytes, 0);
    if (n) this.emit('lineDrops', n);
    for (const f of frames) this.#reply(f);
    const current = this.#current;
    if (current && dropped.some((d) => d.reason === 'bad_checksum')) {
      if (current.answered)
        current.reject(new DriverError('timeout', `board ${current.board}: garbled reply`));
      else current.resolve(null);
    }
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
        this.#echo = t.bytes;
        this.#echoAt = 0;
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
