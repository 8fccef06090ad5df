/**
 * The casier serial protocol, link layer (docs/protocol.md §4): framing, CRC and a framer that
 * finds frames in a byte stream, resynchronising after garbage. Pure: no I/O, no timers.
 *
 *   offset  0     1     2     3      4 … 3+LEN   4+LEN   5+LEN
 *           SOF   LEN   SEQ   TYPE   payload     CRC hi  CRC lo
 *           0xA5  0-64
 *
 * The CRC-16/CCITT-FALSE covers LEN, SEQ, TYPE and the payload.
 */
import { crc16 } from './crc16.ts';

export const SOF = 0xa5;
export const MAX_PAYLOAD = 64;
export const OVERHEAD = 6;

export interface Frame {
  seq: number;
  type: number;
  payload: Uint8Array;
}

export function encodeFrame(f: Frame): Uint8Array {
  if (f.payload.length > MAX_PAYLOAD)
    throw new RangeError(`payload of ${f.payload.length} bytes > ${MAX_PAYLOAD}`);
  const out = new Uint8Array(OVERHEAD + f.payload.length);
  out[0] = SOF;
  out[1] = f.payload.length;
  out[2] = f.seq & 0xff;
  out[3] = f.type & 0xff;
  out.set(f.payload, 4);
  const crc = crc16(out, 1, 4 + f.payload.length);
  out[4 + f.payload.length] = crc >> 8;
  out[5 + f.payload.length] = crc & 0xff;
  return out;
}

export type DropReason = 'garbage' | 'bad_length' | 'bad_crc';

export interface FramerOutput {
  frames: Frame[];
  /** Bytes thrown away, by reason: garbage before a start byte, or a start byte whose frame did not check out. */
  dropped: Array<{ reason: DropReason; bytes: number }>;
}

/**
 * Cuts frames out of a byte stream. A start byte whose length or CRC is wrong is skipped alone,
 * and the search goes on from the next byte, so a corrupted frame costs at most itself.
 */
export class CasierFramer {
  #buf = new Uint8Array(0);

  push(chunk: Uint8Array): FramerOutput {
    const buf = new Uint8Array(this.#buf.length + chunk.length);
    buf.set(this.#buf);
    buf.set(chunk, this.#buf.length);
    const out: FramerOutput = { frames: [], dropped: [] };
    let i = 0;
    while (i < buf.length) {
      if (buf[i] !== SOF) {
        let j = i;
        while (j < buf.length && buf[j] !== SOF) j++;
        out.dropped.push({ reason: 'garbage', bytes: j - i });
        i = j;
        continue;
      }
      if (buf.length - i < 2) break;
      const len = buf[i + 1] as number;
      if (len > MAX_PAYLOAD) {
        out.dropped.push({ reason: 'bad_length', bytes: 1 });
        i++;
        continue;
      }
      if (buf.length - i < OVERHEAD + len) break; // wait for the rest
      const end = i + 4 + len;
      const crc = ((buf[end] as number) << 8) | (buf[end + 1] as number);
      if (crc !== crc16(buf, i + 1, end)) {
        out.dropped.push({ reason: 'bad_crc', bytes: 1 });
        i++;
        continue;
      }
      out.frames.push({
        seq: buf[i + 2] as number,
        type: buf[i + 3] as number,
        payload: buf.slice(i + 4, end),
      });
      i = end + 2;
    }
    this.#buf = buf.slice(i);
    return out;
  }

  /** Bytes held back waiting for the end of a frame. */
  get pending(): number {
    return this.#buf.length;
  }
}
