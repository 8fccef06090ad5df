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
  held: Uint8Array[];
  closed: boolean;
}

/** Two connected ends of an in-memory line; closing either closes both. */
export function linePair(): [Line, Line] {
  const ends: [End, End] = [newEnd(), newEnd()];
  const close = () => {
    for (const e of ends) {
      if (e.closed) continue;
      e.closed = true;
      for (const fn of e.closers) setImmediate(fn);
    }
  };
  const side = (me: End, peer: End): Line => ({
    write(bytes) {
      if (me.closed) return;
      const copy = Uint8Array.from(bytes); // the writer may reuse its buffer
      setImmediate(() => {
        if (peer.closed) return;
        if (peer.listeners.length === 0) peer.held.push(copy);
        else for (const fn of peer.listeners) fn(copy);
      });
    },
    onData(fn) {
      me.listeners.push(fn);
      const held = me.held.splice(0);
      if (held.length)
        setImmediate(() => {
          for (const c of held) fn(c);
        });
    },
    onClose(fn) {
      me.closers.push(fn);
    },
    close: async () => close(),
  });
  return [side(ends[0], ends[1]), side(ends[1], ends[0])];
}

function newEnd(): End {
  return { listeners: [], closers: [], held: [], closed: false };
}
