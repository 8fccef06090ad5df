/** Opens one end of a serial line (a pseudo-terminal from socat, or a real port) for a simulated board. */
import { SerialPort } from 'serialport';

export interface Line {
  write(bytes: Uint8Array): void;
  onData(fn: (chunk: Uint8Array) => void): void;
  close(): Promise<void>;
}

export async function openLine(
  path: string,
  baudRate: number,
  opts: { flipRate?: number; random?: () => number } = {},
): Promise<Line> {
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  const random = opts.random ?? Math.random;
  // Fault injection: flip one random bit in a byte with probability flipRate, on what this board sends.
  const noisy = (b: Uint8Array) =>
    opts.flipRate
      ? b.map((x) => (random() < (opts.flipRate as number) ? x ^ (1 << Math.floor(random() * 8)) : x))
      : b;
  return {
    write: (bytes) => {
      port.write(Buffer.from(noisy(bytes)));
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
