/**
 * A TCP relay between a client (a browser, a bridge) and the hub that can drop the line: every
 * connection cut and new ones refused until it is restored, as when a van leaves coverage; or
 * stall it: connections stay up and carry nothing, as a mobile link that went silent. The hub
 * keeps running.
 */
import { createConnection, createServer, type Socket } from 'node:net';

export interface LineProxy {
  port: number;
  cut(): void;
  /** Connections stay open; whatever is sent either way from now on is swallowed. */
  stall(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function lineProxy(targetPort: number): Promise<LineProxy> {
  const sockets = new Set<Socket>();
  let down = false;
  let stalled = false;
  const server = createServer((client) => {
    if (down) return client.destroy();
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.on('data', (d) => stalled || upstream.write(d));
    upstream.on('data', (d) => stalled || client.write(d));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    cut() {
      down = true;
      for (const s of sockets) s.destroy();
    },
    stall() {
      stalled = true;
    },
    restore() {
      down = false;
      stalled = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
