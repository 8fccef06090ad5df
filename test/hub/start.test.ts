import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { startHub } from '../../hub/service.ts';
import { freePort } from '../helpers/brokers.ts';

const listen = (s: Server, port: number) =>
  new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve());
  });
const close = (s: Server) => new Promise((r) => s.close(r));

it('leaves nothing running when its HTTP port is taken', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'casier-start-'));
  const blocker = createServer();
  await listen(blocker, 0);
  const taken = (blocker.address() as { port: number }).port;
  const mqttPort = await freePort();
  const config = { dataDir, host: '127.0.0.1', codeDigits: 8, logLevel: 'silent' };
  try {
    await expect(startHub({ ...config, httpPort: taken, mqttPort })).rejects.toThrow(/EADDRINUSE/);
    // Its broker let go of its port, its timers do not fire into a closed store…
    const again = createServer();
    await listen(again, mqttPort);
    await close(again);
    await new Promise((r) => setTimeout(r, 400));
    // …and the store opens again for the next attempt.
    const hub = await startHub({ ...config, httpPort: 0, mqttPort: 0 });
    await hub.stop();
  } finally {
    await close(blocker);
    rmSync(dataDir, { recursive: true, force: true });
  }
});
