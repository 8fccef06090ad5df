/**
 * Kerong KR-CU16 RS485 lock boards (docs/protocol.md §5): 19200 8N1, up to 16 boards on a bus,
 * 16 locks each. Requests are 5 bytes, `02 ADDR CMD 03 SUM`, with ADDR = board << 4 | (lock - 1)
 * and SUM the low byte of the sum of the four bytes before it. Every request is answered by the
 * addressed board with a 9-byte status frame `02 ADDR 35 L1 L2 I1 I2 03 SUM`: lock bits for locks
 * 1-8 then 9-16 (bit 0 = the lowest lock), then item-present (infrared) bits likewise.
 */
export const STX = 0x02;
export const ETX = 0x03;
export const CMD = {
  status: 0x30,
  unlock: 0x31,
  queryAll: 0x32,
  unlockAll: 0x33,
  statusReply: 0x35,
} as const;
export const REPLY_LENGTH = 9;

const sum = (bytes: ArrayLike<number>, end: number) => {
  let s = 0;
  for (let i = 0; i < end; i++) s += bytes[i] as number;
  return s & 0xff;
};

/** A request to one board; `lock` (1-16) for unlock, ignored by the board for the others. */
export function encodeRequest(board: number, cmd: number, lock = 1): Uint8Array {
  if (board < 0 || board > 15 || lock < 1 || lock > 16)
    throw new RangeError(`board ${board} lock ${lock} out of range`);
  const bytes = [STX, (board << 4) | (lock - 1), cmd, ETX];
  return Uint8Array.from([...bytes, sum(bytes, 4)]);
}

export interface BoardStatus {
  board: number;
  /** Raw lock bits, lock 1 = bit 0 (its meaning, locked or open, depends on the board: see polarity). */
  lockBits: number;
  /** Item present (infrared), lock 1 = bit 0. */
  presentBits: number;
}

export function encodeStatusReply(s: BoardStatus): Uint8Array {
  const bytes = [
    STX,
    s.board << 4,
    CMD.statusReply,
    s.lockBits & 0xff,
    s.lockBits >> 8,
    s.presentBits & 0xff,
    s.presentBits >> 8,
    ETX,
  ];
  return Uint8Array.from([...bytes, sum(bytes, 8)]);
}

/** Decodes a request as a board sees it (for simulators): null if it does not check out. */
export function decodeRequest(b: ArrayLike<number>): { board: number; lock: number; cmd: number } | null {
  if (b.length !== 5 || b[0] !== STX || b[3] !== ETX || b[4] !== sum(b, 4)) return null;
  const addr = b[1] as number;
  return { board: addr >> 4, lock: (addr & 0x0f) + 1, cmd: b[2] as number };
}

export type Drop = { reason: 'garbage' | 'bad_checksum'; bytes: number };

/**
 * Cuts fixed-size frames (5-byte requests or 9-byte replies) out of a byte stream: looks for
 * STX, checks ETX and the checksum, skips one byte and searches again when they do not match.
 */
export class FixedFramer {
  #buf: number[] = [];

  constructor(private readonly size: number) {}

  push(chunk: ArrayLike<number>): { frames: Uint8Array[]; dropped: Drop[] } {
    for (let i = 0; i < chunk.length; i++) this.#buf.push(chunk[i] as number);
    const frames: Uint8Array[] = [];
    const dropped: Drop[] = [];
    let garbage = 0;
    while (this.#buf.length > 0) {
      if (this.#buf[0] !== STX) {
        this.#buf.shift();
        garbage++;
        continue;
      }
      if (this.#buf.length < this.size) break;
      const f = this.#buf.slice(0, this.size);
      if (f[this.size - 2] !== ETX || f[this.size - 1] !== sum(f, this.size - 1)) {
        dropped.push({ reason: 'bad_checksum', bytes: 1 });
        this.#buf.shift();
        continue;
      }
      frames.push(Uint8Array.from(f));
      this.#buf.splice(0, this.size);
    }
    if (garbage) dropped.unshift({ reason: 'garbage', bytes: garbage });
    return { frames, dropped };
  }

  reset(): void {
    this.#buf = [];
  }
}

export function decodeStatusReply(f: Uint8Array): BoardStatus | null {
  if (f.length !== REPLY_LENGTH || f[2] !== CMD.statusReply) return null;
  return {
    board: (f[1] as number) >> 4,
    lockBits: (f[3] as number) | ((f[4] as number) << 8),
    presentBits: (f[5] as number) | ((f[6] as number) << 8),
  };
}
