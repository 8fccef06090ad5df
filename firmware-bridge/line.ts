/**
 * The serial line to the controller board: a local port (`/dev/ttyUSB0`, `/dev/ttyAMA0`) through
 * serialport, or `tcp://host:port` for serial-over-TCP converters. Byte-oriented and thin: the
 * protocol lives in devices/serial.
 */
import { connect } from 'node:net';
import { SerialPort } from 'serialport';
import type { Line } from '../devices/index.ts';

export type { Line };

export async function openLine(spec: string, baudRate: number): Promise<Line> {
  if (spec.startsWith('tcp://')) {
    const url = new URL(spec);
    const socket = connect({ host: url.hostname, port: Number(url.port), noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return {
      write: (b) => {
        socket.write(b);
      },
      onData: (fn) => {
        socket.on('data', (d) => fn(new Uint8Array(d)));
      },
      onClose: (fn) => {
        socket.on('close', () => fn());
      },
      close: () => new Promise((resolve) => socket.end(resolve)),
    };
  }
  const port = new SerialPort({ path: spec, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) =>
    port.open((err) =>
      err ? reject(new Error(`cannot open serial port ${spec}: ${err.message}`)) : resolve(),
    ),
  );
  return {
    write: (b) => {
      port.write(Buffer.from(b));
    },
    onData: (fn) => {
      port.on('data', (d: Buffer) => fn(new Uint8Array(d)));
    },
    onClose: (fn) => {
      port.on('close', (err?: Error) => fn(err ?? undefined));
    },
    close: () =>
      new Promise((resolve) => {
        if (!port.isOpen) return resolve();
        port.close(() => resolve());
      }),
  };
}
