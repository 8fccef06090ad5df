import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it, vi } from 'vitest';
import { startHub } from '../../hub/service.ts';
import { freePort } from '../helpers/brokers.ts';

const listen = (s: Server, port: number) =>
  new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve());
  });
const realSetInterval = globalThis.setInterval;
const realClearInterval = globalThis.clearInterval;
const close = (s: Server) => new Promise((r) => s.close(r));

it('leaves nothing running when its HTTP port is taken', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'casier-start-'));
  const blocker = createServer();
  await listen(blocker, 0);
  const taken = (blocker.address() as { port: number }).port;
  const mqttPort = await freePort();
  const config = { dataDir, host: '127.0.0.1', codeDigits: 8, logLevel: 'silent' };
  // Every periodic timer the failed start sets up is cleared again before it gives up.
  const intervals = new Set<unknown>();
  let started = 0;
  const set = vi.spyOn(globalThis, 'setInterval').mockImplementation(((fn: () => void, ms?: number) => {
    const timer = realSetInterval(fn, ms);
    intervals.add(timer);
    started++;
    return timer;
  }) as typeof setInterval);
  const clear = vi.spyOn(globalThis, 'clearInterval').mockImplementation(((timer?: NodeJS.Timeout) => {
    intervals.delete(timer);
    realClearInterval(timer);
  }) as typeof clearInterval);
  try {
    await expect(startHub({ ...config, httpPort: taken, mqttPort })).rejects.toThrow(/EADDRINUSE/);
    set.mockRestore();
    clear.mockRestore();
    expect(started).toBeGreaterThan(5); // the components, the sync, the live feed did start
    expect([...intervals]).toEqual([]);
    // Its broker let go of its port…
    const again = createServer();
    await listen(again, mqttPort);
    await close(again);
    // …and the store opens again for the next attempt.
    const hub = await startHub({ ...config, httpPort: 0, mqttPort: 0 });
    await hub.stop();
  } finally {
    set.mockRestore();
    clear.mockRestore();
    await close(blocker);
    rmSync(dataDir, { recursive: true, force: true });
  }
});
