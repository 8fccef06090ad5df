/**
 * A cap on the size of the MQTT packets a connection may send the embedded broker. aedes' parser
 * (mqtt-packet) gathers a packet whole, up to the protocol's 256 MB, before anything of ours sees
 * it: one client, without even signing in, could make the hub hold hundreds of MB per connection
 * (measured: +200 MB of resident memory for one CONNECT announcing 200 MB; a few such
 * connections and a Raspberry Pi is out of memory). This reads only each packet's fixed header
 * (its type byte and its remaining length, 1-4 bytes) and skips the rest, so it costs a few
 * operations per packet whatever its size, and cuts the connection at the first packet that
 * announces more than the cap. Before it has logged in, a connection may send a CONNECT and
 * nothing larger (PRE_LOGIN_MAX_BYTES): 800 strangers announcing a MiB each took a hub from 149 MB
 * to 1 GB; now each is cut at its first header.
 */
import type { Socket } from 'node:net';

/** The largest packet a connection that has not logged in may send: a CONNECT, will included. */
export const PRE_LOGIN_MAX_BYTES = 8 * 1024;

export type Verdict = 'ok' | 'too_large' | 'malformed';

export class PacketSizeGuard {
  /** Bytes of the current packet's body still to skip. */
  #skip = 0;
  /** Inside a fixed header: 0 before its type byte, then how many length bytes were read. */
  #header = -1;
  #length = 0;
  #factor = 1;

  /**
   * `max`: the largest remaining length (bytes after the fixed header) allowed, or what it is now
   * (a connection not logged in yet is allowed its CONNECT only).
   */
  constructor(private readonly max: number | (() => number)) {}

  /** Reads the next bytes of the connection, in order. */
  feed(chunk: Buffer): Verdict {
    let i = 0;
    while (i < chunk.length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - i);
        this.#skip -= n;
        i += n;
        continue;
      }
      const byte = chunk[i++] as number;
      if (this.#header < 0) {
        this.#header = 0; // the type byte: the remaining length follows
        this.#length = 0;
        this.#factor = 1;
        continue;
      }
      this.#length += (byte & 0x7f) * this.#factor;
      this.#factor *= 128;
      this.#header++;
      if (this.#length > (typeof this.max === 'number' ? this.max : this.max())) return 'too_large';
      if (byte & 0x80) {
        if (this.#header === 4) return 'malformed'; // at most four length bytes
        continue;
      }
      this.#header = -1;
      this.#skip = this.#length;
    }
    return 'ok';
  }
}

/**
 * Watches what `socket` receives (alongside aedes, which reads it too) and destroys it at the
 * first packet over `max` bytes, or with a malformed length; `cut` is told why.
 */
export function capPackets(
  socket: Socket,
  max: number | (() => number),
  cut: (why: Exclude<Verdict, 'ok'>) => void,
): void {
  const guard = new PacketSizeGuard(max);
  const watch = (chunk: Buffer) => {
    const verdict = guard.feed(chunk);
    if (verdict === 'ok') return;
    socket.off('data', watch);
    cut(verdict);
    socket.destroy();
  };
  socket.on('data', watch);
}
