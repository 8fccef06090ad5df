/**
 * The bridge's serial line against serialport's mock binding. A write that fails inside
 * serialport (in flight when the port closes, or the USB adapter pulled) is emitted as an 'error'
 * event on the port; unheard, it ended the whole process: CI saw `EBADF: bad file descriptor,
 * write` end `casier bridge selftest` with exit 1.
 */
import { createServer, type Socket } from 'node:net';
import { SerialPortMock } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { openLine } from '../../firmware-bridge/line.ts';

const path = '/dev/ttyCASIER0';
type MockPort = Awaited<ReturnType<typeof SerialPortMock.binding.open>>;

/** The mock binding, keeping the ports it opens so that a test can break them. */
function binding() {
  const opened: MockPort[] = [];
  const b = SerialPortMock.binding;
  return {
    opened,
    binding: {
      list: () => b.list(),
      open: async (options: Parameters<typeof b.open>[0]) => {
        const port = await b.open(options);
        opened.push(port);
        return port;
      },
    },
  };
}

afterEach(() => SerialPortMock.binding.reset());

describe('the bridge serial line', () => {
  it('survives a write cut short by its own close, and a write after it', async () => {
    SerialPortMock.binding.createPort(path, { record: true });
    const { binding: b, opened } = binding();
    const line = await openLine(path, 115200, { binding: b });
    const closed: Array<Error | undefined> = [];
    line.onClose((err) => closed.push(err));
    line.write(new Uint8Array([1, 2, 3])); // in flight when the close lands: "Write canceled"
    await line.close();
    line.write(new Uint8Array([4])); // dropped, not queued for an 'open' that never comes
    await new Promise((r) => setTimeout(r, 10));
    expect(closed).toEqual([undefined]);
    expect(opened[0]?.isOpen).toBe(false);
  });

  it('reports a line that fails under it as a close with the reason', async () => {
    SerialPortMock.binding.createPort(path);
    const { binding: b, opened } = binding();
    const line = await openLine(path, 115200, { binding: b });
    const closed = new Promise<Error | undefined>((resolve) => line.onClose(resolve));
    const port = opened[0] as MockPort;
    // What the Linux binding does when the descriptor is gone under a write.
    port.write = async () => {
      throw Object.assign(new Error('EBADF: bad file descriptor, write'), {
        code: 'EBADF',
        disconnect: true,
      });
    };
    line.write(new Uint8Array([1]));
    expect((await closed)?.message).toMatch(/EBADF/);
    // Told too, with the reason, though it listens after the loss (the bridge's run loop may).
    expect((await new Promise<Error | undefined>((resolve) => line.onClose(resolve)))?.message).toMatch(
      /EBADF/,
    );
    line.write(new Uint8Array([2])); // after the loss: dropped
    await line.close(); // and closing it again is harmless
  });

  it('reports a serial-over-TCP converter that resets its connection as a close with the reason', async () => {
    const server = createServer();
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as { port: number };
      const line = await openLine(`tcp://127.0.0.1:${port}`, 115200);
      const closed = new Promise<Error | undefined>((resolve) => line.onClose(resolve));
      (await accepted).resetAndDestroy();
      expect((await closed)?.message).toMatch(/ECONNRESET/);
      line.write(new Uint8Array([1])); // dropped
      await line.close();
    } finally {
      server.close();
    }
  });
});
