/**
 * A serial line as the bridge's drivers and the simulated boards see it: bytes out, bytes in, a
 * close. `linePair()` is the two ends of a wire in memory, for tests and the demo: what one end
 * writes the other receives, in order, on a later turn of the event loop (never inside the
 * writer's call, as no UART delivers synchronously), and bytes written before the other end
 * listens wait for it, as a port's receive buffer holds them.
 */
export interface Line {
  write(bytes: Uint8Array): void;
  onData(fn: (chunk: Uint8Array) => void): void;
  onClose(fn: (err?: Error) => void): void;
  close(): Promise<void>;
}

interface End {
  listeners: Array<(chunk: Uint8Array) => void>;
  closers: Array<(err?: Error) => void>;
  /** Bytes on their way to this end, oldest first: one queue, so nothing overtakes. */
  queue: Uint8Array[];
  draining: boolean;
  closed: boolean;
}

/** Two connected ends of an in-memory line; closing either closes both. */
export function linePair(): [Line, Line] {
  const ends: [End, End] = [newEnd(), newEnd()];
  const close = () => {
    for (const e of ends) {
      if (e.closed) continue;
      e.closed = true;
      e.queue.length = 0;
      for (const fn of e.closers) setImmediate(fn);
    }
  };
  // Delivers what waits for `end` on a later turn, in order, once someone listens.
  const drain = (end: End) => {
    if (end.draining) return;
    end.draining = true;
    setImmediate(() => {
      end.draining = false;
      if (end.closed || end.listeners.length === 0) return;
      for (const chunk of end.queue.splice(0)) for (const fn of end.listeners) fn(chunk);
    });
  };
  const side = (me: End, peer: End): Line => ({
    write(bytes) {
      if (me.closed || peer.closed) return;
      peer.queue.push(Uint8Array.from(bytes)); // a copy: the writer may reuse its buffer
      drain(peer);
    },
    onData(fn) {
      me.listeners.push(fn);
      drain(me);
    },
    onClose(fn) {
      me.closers.push(fn);
    },
    close: async () => close(),
  });
  return [side(ends[0], ends[1]), side(ends[1], ends[0])];
}

function newEnd(): End {
  return { listeners: [], closers: [], queue: [], draining: false, closed: false };
}

/**
 * A line's close, said once to each listener: with the first failure seen, if it failed. For the
 * ends over a port or a socket, whose 'error' and 'close' events come apart and sometimes twice.
 */
export function lineCloser() {
  const fns: Array<(err?: Error) => void> = [];
  let failure: Error | undefined;
  let ended = false;
  return {
    get ended() {
      return ended;
    },
    /** Keeps the reason, told at the close that follows it. */
    failed(err: Error) {
      failure ??= err;
    },
    end(err?: Error) {
      if (ended) return;
      ended = true;
      failure ??= err;
      for (const fn of fns) fn(failure);
    },
    /** A listener that comes after the end is told too, on a later turn. */
    listen(fn: (err?: Error) => void) {
      if (ended) setImmediate(() => fn(failure));
      else fns.push(fn);
    },
  };
}

/** What `portLine` needs of a port: serialport's SerialPort has all of it. */
export interface PortLike {
  readonly isOpen: boolean;
  write(bytes: Buffer): unknown;
  close(callback: () => void): void;
  on(event: 'data', fn: (chunk: Buffer) => void): unknown;
  on(event: 'error', fn: (err: Error) => void): unknown;
  on(event: 'close', fn: (err?: Error | null) => void): unknown;
}

/**
 * An open port as a line. A write that fails inside serialport (in flight when the port closes,
 * or its descriptor gone with a USB adapter) is an 'error' event, and an unheard one ends the
 * process: here it closes the line, whose listeners get the reason. Writes during and after a
 * close are dropped (serialport would queue them for an 'open' that never comes).
 */
export function portLine(port: PortLike): Line {
  const closing = lineCloser();
  let closeAsked = false;
  port.on('error', (err) => {
    if (!closeAsked) closing.failed(err);
  });
  port.on('close', (err) => closing.end(closeAsked ? undefined : (err ?? undefined)));
  return {
    write(bytes) {
      if (!closeAsked && !closing.ended && port.isOpen) port.write(Buffer.from(bytes));
    },
    onData(fn) {
      port.on('data', (chunk) => fn(new Uint8Array(chunk)));
    },
    onClose: (fn) => closing.listen(fn),
    close: () =>
      new Promise((resolve) => {
        closeAsked = true;
        if (closing.ended || !port.isOpen) return resolve();
        port.close(() => resolve());
      }),
  };
}
