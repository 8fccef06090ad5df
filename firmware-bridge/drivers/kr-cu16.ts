/**
 * Driver for Kerong KR-CU16 lock boards on an RS485 bus (docs/protocol.md §5). One request in
 * flight on the bus at a time, a gap between transactions, every board polled for its lock and
 * item-present bits, and the status re-read after every unlock. Lock-bit polarity is a setting
 * per board because implementations disagree on it.
 */
import { EventEmitter } from 'node:events';
import { krcu16, type LockerProfile } from '../../devices/index.ts';
import type { Line } from '../line.ts';
import { type BoardDriver, DriverError, type SelftestRow } from './types.ts';

export type Polarity = 'open-high' | 'open-low';

export interface KrOptions {
  /** Polarity per board address; boards not listed are `open-high` (bit set = door open). */
  polarity?: Record<number, Polarity>;
  pollMs?: number;
  replyTimeoutMs?: number;
  /** Silence on the bus between two transactions, so RS485 transceivers turn around. */
  gapMs?: number;
  /** When to re-read a board's status after an unlock. */
  rereadMs?: number;
}

interface Transaction {
  board: number;
  bytes: Uint8Array;
  resolve: (s: krcu16.BoardStatus) => void;
  reject: (e: Error) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class KrCu16Driver extends EventEmitter implements BoardDriver {
  readonly #framer = new krcu16.FixedFramer(krcu16.REPLY_LENGTH);
  readonly #queue: Transaction[] = [];
  readonly #doorAt = new Map<string, number>();
  readonly #at = new Map<number, { board: number; lock: number }>();
  readonly #boards: number[];
  readonly #open = new Map<number, boolean>();
  readonly #present = new Map<number, boolean>();
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
    }
    this.#boards = [...new Set([...this.#at.values()].map((a) => a.board))].sort((a, b) => a - b);
  }

  async start(): Promise<void> {
    this.line.onData((chunk) => {
      const { frames, dropped } = this.#framer.push(chunk);
      const n = dropped.reduce((s, d) => s + d.bytes, 0);
      if (n) this.emit('lineDrops', n);
      for (const f of frames) this.#reply(f);
    });
    const poll = async () => {
      for (const b of this.#boards) await this.#status(b).catch(() => undefined);
      if (!this.#stopped) this.#poller = setTimeout(() => void poll(), this.opts.pollMs ?? 250);
    };
    await poll();
    this.emit('board', `KR-CU16 bus, boards ${this.#boards.join(', ')}`);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#poller);
    await this.line.close();
  }

  async unlock(door: number): Promise<void> {
    const at = this.#at.get(door);
    if (!at) throw new DriverError('no_such_door', `no door ${door} in profile ${this.profile.name}`);
    await this.#transact(at.board, krcu16.encodeRequest(at.board, krcu16.CMD.unlock, at.lock));
    this.emit('lockReleased', door);
    // The reply to an unlock says little on its own: re-read once the latch has moved.
    setTimeout(() => void this.#status(at.board).catch(() => undefined), this.opts.rereadMs ?? 300).unref();
  }

  // KR-CU16 boards drive locks only: no display, no buzzer.
  display(): void {}
  beep(): void {}

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
    for (const c of this.profile.compartments) {
      const at = this.#at.get(c.door) as { board: number; lock: number };
      const r = await this.unlock(c.door).then(
        () => ({
          result: 'ok' as const,
          detail: this.#open.get(c.door) ? 'released, door open' : 'released',
        }),
        (e: Error) => ({ result: 'no answer' as const, detail: e.message }),
      );
      rows.push({ part: `door ${c.door} lock`, channel: `board ${at.board} lock ${at.lock}`, ...r });
    }
    return rows;
  }

  #status(board: number): Promise<krcu16.BoardStatus> {
    return this.#transact(board, krcu16.encodeRequest(board, krcu16.CMD.status)).then((s) => {
      this.#apply(s);
      return s;
    });
  }

  #apply(s: krcu16.BoardStatus): void {
    const openHigh = (this.opts.polarity?.[s.board] ?? 'open-high') === 'open-high';
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
  #transact(board: number, bytes: Uint8Array): Promise<krcu16.BoardStatus> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ board, bytes, resolve, reject });
      void this.#pump();
    });
  }

  async #pump(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    while (this.#queue.length && !this.#stopped) {
      const t = this.#queue.shift() as Transaction;
      await new Promise<void>((done) => {
        const finish = () => {
          clearTimeout(this.#current?.timer);
          this.#current = undefined;
          done();
        };
        const timer = setTimeout(() => {
          t.reject(
            new DriverError(
              'timeout',
              `board ${t.board} did not answer within ${this.opts.replyTimeoutMs ?? 500} ms`,
            ),
          );
          finish();
        }, this.opts.replyTimeoutMs ?? 500);
        this.#current = {
          ...t,
          timer,
          resolve: (s) => {
            t.resolve(s);
            finish();
          },
        };
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
