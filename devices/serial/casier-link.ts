/**
 * The casier serial protocol, reliable link (docs/protocol.md §4.5): stop-and-wait ARQ. Each
 * side numbers its frames (SEQ 0-255, wrapping), keeps at most one unacknowledged frame in
 * flight, retransmits it every `retransmitMs` up to `maxAttempts` times, and acknowledges every
 * intact non-ACK frame it receives. A frame whose SEQ equals the last one received is a
 * retransmission: it is acknowledged again and not delivered, so an unlock is executed once.
 * A HELLO (the peer rebooted) resets that memory.
 *
 * Pure: the caller feeds bytes and the time, and writes the bytes it is given back.
 */
import { CasierFramer, type DropReason, encodeFrame } from './casier-frame.ts';
import { decodeMessage, encodeMessage, type Message, TYPE } from './casier-messages.ts';

export interface LinkOptions {
  retransmitMs?: number;
  maxAttempts?: number;
  /** Messages waiting behind the one in flight; beyond it the oldest are refused. */
  maxQueue?: number;
}

export interface LinkOutput {
  /** Messages from the peer, in order, each delivered once. */
  messages: Message[];
  /** Bytes to write to the line, in order. */
  writes: Uint8Array[];
  /** Messages given up after `maxAttempts` transmissions without an ACK. */
  failed: Message[];
  dropped: Array<{ reason: DropReason | 'unknown_type'; bytes: number }>;
  duplicates: number;
}

interface InFlight {
  seq: number;
  message: Message;
  bytes: Uint8Array;
  sentAt: number;
  attempts: number;
}

const empty = (): LinkOutput => ({ messages: [], writes: [], failed: [], dropped: [], duplicates: 0 });

export class CasierLink {
  readonly #framer = new CasierFramer();
  readonly #queue: Message[] = [];
  readonly #retransmitMs: number;
  readonly #maxAttempts: number;
  readonly #maxQueue: number;
  #nextSeq = 0;
  #inFlight: InFlight | undefined;
  #lastRx: number | undefined;

  constructor(opts: LinkOptions = {}) {
    this.#retransmitMs = opts.retransmitMs ?? 150;
    this.#maxAttempts = opts.maxAttempts ?? 8;
    this.#maxQueue = opts.maxQueue ?? 64;
  }

  get idle(): boolean {
    return !this.#inFlight && this.#queue.length === 0;
  }

  /**
   * Queues a message; returns the bytes to write now (empty while another frame is in flight).
   * Readings never hold up the rest: a new `temperatures` replaces one still queued, and every
   * other message goes ahead of queued readings, so a lock result or a door contact is not
   * stuck behind a backlog of sensor frames on a slow or noisy line.
   */
  send(message: Message, now: number): LinkOutput {
    const out = empty();
    const queuedReadings = this.#queue.findIndex((m) => m.type === 'temperatures');
    if (message.type === 'temperatures' && queuedReadings >= 0) {
      this.#queue[queuedReadings] = message;
    } else {
      if (this.#queue.length >= this.#maxQueue) out.failed.push(this.#queue.shift() as Message);
      if (message.type !== 'temperatures' && queuedReadings >= 0)
        this.#queue.splice(queuedReadings, 0, message);
      else this.#queue.push(message);
    }
    this.#next(now, out);
    return out;
  }

  receive(chunk: Uint8Array, now: number): LinkOutput {
    const out = empty();
    const { frames, dropped } = this.#framer.push(chunk);
    out.dropped.push(...dropped);
    for (const f of frames) {
      if (f.type === TYPE.ack) {
        if (this.#inFlight && f.seq === this.#inFlight.seq) {
          this.#inFlight = undefined;
          this.#next(now, out);
        }
        continue;
      }
      const message = decodeMessage(f.type, f.payload);
      if (!message) {
        out.dropped.push({ reason: 'unknown_type', bytes: f.payload.length + 6 });
        continue;
      }
      out.writes.push(encodeFrame({ seq: f.seq, ...encodeMessage({ type: 'ack' }) }));
      if (message.type !== 'hello' && f.seq === this.#lastRx) {
        out.duplicates++;
        continue;
      }
      this.#lastRx = f.seq;
      out.messages.push(message);
    }
    return out;
  }

  /** Call every few tens of milliseconds: retransmits or gives up on the frame in flight. */
  poll(now: number): LinkOutput {
    const out = empty();
    const f = this.#inFlight;
    if (!f || now - f.sentAt < this.#retransmitMs) return out;
    if (f.attempts >= this.#maxAttempts) {
      out.failed.push(f.message);
      this.#inFlight = undefined;
      this.#next(now, out);
      return out;
    }
    f.attempts++;
    f.sentAt = now;
    out.writes.push(f.bytes);
    return out;
  }

  #next(now: number, out: LinkOutput): void {
    if (this.#inFlight) return;
    const message = this.#queue.shift();
    if (!message) return;
    const seq = this.#nextSeq;
    this.#nextSeq = (this.#nextSeq + 1) & 0xff;
    const bytes = encodeFrame({ seq, ...encodeMessage(message) });
    this.#inFlight = { seq, message, bytes, sentAt: now, attempts: 1 };
    out.writes.push(bytes);
  }
}
