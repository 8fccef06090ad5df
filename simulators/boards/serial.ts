/** Opens one end of a serial line (a pseudo-terminal from socat, or a real port) for a simulated board. */
import { SerialPort } from 'serialport';

export interface Line {
  write(bytes: Uint8Array): void;
  onData(fn: (chunk: Uint8Array) => void): void;
  close(): Promise<void>;
}

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

export async function openLine(
  path: string,
  baudRate: number,
  opts: { flipRate?: number; stats?: { flipped: number; bytes: number } } = {},
): Promise<Line> {
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  const stats = opts.stats ?? { flipped: 0, bytes: 0 };
  return {
    // Fault injection on what this board sends.
    write: (bytes) => {
      port.write(Buffer.from(corrupt(bytes, opts.flipRate ?? 0, stats)));
    },
    onData: (fn) => {
      port.on('data', (d: Buffer) => fn(new Uint8Array(d)));
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (!port.isOpen) return resolve();
        port.close(() => resolve());
      }),
  };
}
