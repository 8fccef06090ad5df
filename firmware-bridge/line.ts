/**
 * The serial line to the controller board: a local port (`/dev/ttyUSB0`, `/dev/ttyAMA0`) through
 * serialport, or `tcp://host:port` for serial-over-TCP converters. Byte-oriented and thin: the
 * protocol lives in devices/serial.
 *
 * A line never throws at its user and never lets an 'error' event go unheard (an unheard one ends
 * the process): a failed write, a port pulled from under it or a converter's dropped connection
 * closes the line, and its close listeners get the reason (devices/serial/line.ts, portLine).
 * Writes after the close are dropped.
 */
import { connect } from 'node:net';
import { SerialPort } from 'serialport';
import { type Line, lineCloser, portLine } from '../devices/index.ts';

export type { Line };

export interface LineOptions {
  /** serialport's binding in place of the one it detects: tests pass `SerialPortMock.binding`. */
  binding?: unknown;
}

export async function openLine(spec: string, baudRate: number, opts: LineOptions = {}): Promise<Line> {
  if (spec.startsWith('tcp://')) {
    const closing = lineCloser();
    const url = new URL(spec);
    const socket = connect({ host: url.hostname, port: Number(url.port), noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.on('error', (err) => closing.failed(err));
    socket.on('close', () => closing.end());
    return {
      write: (b) => {
        if (!closing.ended && socket.writable) socket.write(b);
      },
      onData: (fn) => {
        socket.on('data', (d) => fn(new Uint8Array(d)));
      },
      onClose: (fn) => closing.listen(fn),
      close: () =>
        new Promise((resolve) => {
          if (socket.destroyed) return resolve();
          socket.once('close', () => resolve());
          socket.end();
          // A converter that never closes its side (hung, or gone with the connection up) must not
          // hold the bridge's stop: cut it.
          setTimeout(() => socket.destroy(), 1000).unref();
        }),
    };
  }
  // SerialPort's type leaves `binding` out, though its constructor takes one over the detected one.
  const options = {
    path: spec,
    baudRate,
    autoOpen: false,
    ...(opts.binding ? { binding: opts.binding } : {}),
  };
  const port = new SerialPort(options as ConstructorParameters<typeof SerialPort>[0]);
  await new Promise<void>((resolve, reject) =>
    port.open((err) =>
      err ? reject(new Error(`cannot open serial port ${spec}: ${err.message}`)) : resolve(),
    ),
  );
  return portLine(port);
}
