/** Opens one end of a serial line (a pseudo-terminal from socat, or a real port) for a simulated board. */
import { SerialPort } from 'serialport';
import { type Line, portLine } from '../../devices/index.ts';

export type { Line };

/** Flips one random bit in a byte with probability `rate`; counts bytes and flips in `stats`. */
export function corrupt(
  bytes: Uint8Array,
  rate: number,
  stats: { flipped: number; bytes: number },
): Uint8Array {
  stats.bytes += bytes.length;
  if (!rate) return bytes;
  return bytes.map((x) => {
    if (Math.random() >= rate) return x;
    stats.flipped++;
    return x ^ (1 << Math.floor(Math.random() * 8));
  });
}

/**
 * The board's end of its line: a serial port by path, or an end of an in-memory pair (tests, the
 * demo). `flipRate` injects noise on what this board sends.
 */
export async function openLine(
  at: string | Line,
  baudRate: number,
  opts: { flipRate?: number; stats?: { flipped: number; bytes: number } } = {},
): Promise<Line> {
  const stats = opts.stats ?? { flipped: 0, bytes: 0 };
  if (typeof at !== 'string') {
    return {
      write: (bytes) => at.write(corrupt(bytes, opts.flipRate ?? 0, stats)),
      onData: (fn) => at.onData(fn),
      onClose: (fn) => at.onClose(fn),
      close: () => at.close(),
    };
  }
  const port = new SerialPort({ path: at, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  const line = portLine(port);
  // Fault injection on what this board sends.
  return { ...line, write: (bytes) => line.write(corrupt(bytes, opts.flipRate ?? 0, stats)) };
}
