/**
 * A bus of Kerong KR-CU16 lock boards, simulated on a serial line (docs/protocol.md §5). Each
 * lock is spring-loaded: an unlock pops the door open; a person closes it. Lock bits report the
 * door with a polarity set per board, as real boards disagree on it.
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
  flipRate?: number;
}

export class KrCu16BusSim extends EventEmitter {
  /** open[board][lock-1] */
  readonly open: boolean[][];
  readonly present: boolean[][];
  /** Every unlock executed, as `board:lock`. */
  readonly unlocked: string[] = [];
  readonly #framer = new krcu16.FixedFramer(5);
  #line: Line | undefined;

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
    await this.#line?.close();
  }

  closeDoor(board: number, lock: number): void {
    (this.open[board] as boolean[])[lock - 1] = false;
  }

  setPresent(board: number, lock: number, present: boolean): void {
    (this.present[board] as boolean[])[lock - 1] = present;
  }

  #request(f: Uint8Array): void {
    const r = krcu16.decodeRequest(f);
    if (!r || r.board >= this.opts.boards.length) return; // nobody at that address: silence
    if (r.cmd === krcu16.CMD.unlock) {
      (this.open[r.board] as boolean[])[r.lock - 1] = true;
      this.unlocked.push(`${r.board}:${r.lock}`);
      this.emit('unlocked', r.board, r.lock);
    } else if (r.cmd === krcu16.CMD.unlockAll) {
      (this.open[r.board] as boolean[]).fill(true);
    }
    this.#line?.write(krcu16.encodeStatusReply(this.#status(r.board)));
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
