/**
 * A bus of Kerong KR-CU16 lock boards, simulated on a serial line (docs/protocol.md §5), behaving
 * as the public code that drives real boards says they do:
 * - a status request (0x30, or query-all 0x32) is answered with the nine-byte status frame; an
 *   unlock (0x31) is executed and, by default, **not answered**: jin0949/KR-CU16_locker
 *   (src/locker.py) and julio-alv/lkaas-kerong (src/kerong/board.rs) write the unlock and read
 *   nothing back, the former confirming it by a status read 25 ms later;
 * - a set lock bit means the latch is **closed** by default (`open-low`): `is_locked = bit` in
 *   jin0949's locker.py, `closed: latch == 1` in lkaas-kerong's status.rs. Some boards are wired
 *   the other way (`open-high`), so the polarity is set per board;
 * - the latch takes a moment to move after the unlock (`latchMs`): the bit changes then.
 *
 * Each lock is spring-loaded: an unlock pops the door open; a person closes it. Faults for tests:
 * requests lost on the line (`loseRequests`) and replies corrupted (`corruptReplies`, or random
 * noise with `flipRate`).
 */
import { EventEmitter } from 'node:events';
import { krcu16 } from '../../devices/index.ts';
import { type Line, openLine } from './serial.ts';

export type Polarity = 'open-high' | 'open-low';

export interface KrBusOptions {
  /** A serial port's path, or the board's end of an in-memory line. */
  path: string | Line;
  /** Polarity of each board on the bus, by address (0, 1, …). */
  boards: Polarity[];
  /** Whether a board answers an unlock with its status (before the latch has moved). Default no. */
  answersUnlock?: boolean;
  /** How long the latch takes to move after an unlock before the lock bit shows it. Default 20 ms. */
  latchMs?: number;
  flipRate?: number;
  /** The RS485 adapter echoes each request back before the board answers (local echo on). */
  echo?: boolean;
  /** A byte of noise as the transceiver turns around before each reply, and the reply in two pieces. */
  turnaroundNoise?: boolean;
  /** Another board, at this address, answers every request too (a bus with two boards set alike). */
  chatter?: number;
}

export class KrCu16BusSim extends EventEmitter {
  /** open[board][lock-1] */
  readonly open: boolean[][];
  readonly present: boolean[][];
  /** Every unlock executed, as `board:lock`. */
  readonly unlocked: string[] = [];
  /** Replies sent, by command. */
  readonly replies = { status: 0, unlock: 0 };
  readonly #framer = new krcu16.FixedFramer(5);
  #line: Line | undefined;
  #lose = 0;
  #loseCmd: number | undefined;
  #corrupt = 0;
  readonly #jammed = new Set<string>();
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(readonly opts: KrBusOptions) {
    super();
    this.open = opts.boards.map(() => Array.from({ length: 16 }, () => false));
    this.present = opts.boards.map(() => Array.from({ length: 16 }, () => false));
  }

  async start(): Promise<void> {
    this.#line = await openLine(this.opts.path, 19200, { flipRate: this.opts.flipRate });
    this.#line.onData((chunk) => {
      for (const f of this.#framer.push(chunk).frames) this.#request(f);
    });
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    await this.#line?.close();
  }

  closeDoor(board: number, lock: number): void {
    (this.open[board] as boolean[])[lock - 1] = false;
  }

  setPresent(board: number, lock: number, present: boolean): void {
    (this.present[board] as boolean[])[lock - 1] = present;
  }

  /** A lock whose latch no longer moves: unlocks reach it and nothing happens. */
  jam(board: number, lock: number): void {
    this.#jammed.add(`${board}:${lock}`);
  }

  /** The next `n` requests (of command `cmd` only, if given) are lost on the line: no board hears them. */
  loseRequests(n: number, cmd?: number): void {
    this.#lose += n;
    this.#loseCmd = cmd;
  }

  /** The next `n` replies reach the bridge with one byte garbled. */
  corruptReplies(n: number): void {
    this.#corrupt += n;
  }

  #request(f: Uint8Array): void {
    const r = krcu16.decodeRequest(f);
    if (this.opts.echo) this.#line?.write(f);
    if (!r || r.board >= this.opts.boards.length) return; // nobody at that address: silence
    if (this.#lose > 0 && (this.#loseCmd === undefined || this.#loseCmd === r.cmd)) {
      this.#lose--;
      return;
    }
    const board = this.open[r.board] as boolean[];
    if (r.cmd === krcu16.CMD.unlock || r.cmd === krcu16.CMD.unlockAll) {
      const locks = r.cmd === krcu16.CMD.unlock ? [r.lock] : board.map((_, i) => i + 1);
      for (const lock of locks) this.unlocked.push(`${r.board}:${lock}`);
      this.emit('unlocked', r.board, r.lock);
      const t = setTimeout(() => {
        this.#timers.delete(t);
        for (const lock of locks) if (!this.#jammed.has(`${r.board}:${lock}`)) board[lock - 1] = true;
      }, this.opts.latchMs ?? 20);
      this.#timers.add(t);
      if (!this.opts.answersUnlock) return;
      this.replies.unlock++;
    } else {
      this.replies.status++;
    }
    this.#send(krcu16.encodeStatusReply(this.#status(r.board)));
  }

  #send(reply: Uint8Array): void {
    if (this.#corrupt > 0) {
      this.#corrupt--;
      reply[4] = (reply[4] as number) ^ 0x10;
    }
    if (this.opts.chatter !== undefined)
      this.#line?.write(
        krcu16.encodeStatusReply({ board: this.opts.chatter, lockBits: 0xffff, presentBits: 0 }),
      );
    if (this.opts.turnaroundNoise) {
      this.#line?.write(Uint8Array.of(0x00, ...reply.subarray(0, 8)));
      this.#line?.write(reply.subarray(8));
    } else this.#line?.write(reply);
  }

  #status(board: number): krcu16.BoardStatus {
    const openHigh = this.opts.boards[board] === 'open-high';
    let lockBits = 0;
    let presentBits = 0;
    (this.open[board] as boolean[]).forEach((open, i) => {
      if (open === openHigh) lockBits |= 1 << i;
    });
    (this.present[board] as boolean[]).forEach((p, i) => {
      if (p) presentBits |= 1 << i;
    });
    return { board, lockBits, presentBits };
  }
}
