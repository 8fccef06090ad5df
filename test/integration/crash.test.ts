import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SimLocker } from '../../cli/sim-locker.ts';
import { findProfile } from '../../devices/index.ts';
import { eventually } from '../helpers/hub.ts';
import { casier, type HubProcess, spawnHub } from '../helpers/process.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'casier-crash-'));
let hub: HubProcess | undefined;
let box: SimLocker | undefined;

afterAll(async () => {
  await box?.stop();
  hub?.child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('a hub killed with -9 in the middle of a stream of events', () => {
  it('stores every event exactly once after it comes back, and the ledger still verifies', async () => {
    const dev = JSON.parse(
      casier(['device', 'add', 'ferme/box-1', '--profile', 'rural-box-8', '--json', '--data-dir', dataDir])
        .stdout,
    );
    hub = await spawnHub(['--http-port', '0', '--mqtt-port', '0', '--data-dir', dataDir]);
    const mqttPort = new URL(hub.mqttUrl).port;
    box = new SimLocker({
      site: 'ferme',
      locker: 'box-1',
      url: hub.mqttUrl,
      password: dev.password,
      profile: findProfile('rural-box-8') as never,
      resendMs: 200,
    });
    await box.start();

    const total = 300;
    let acked = 0;
    box.on('acked', (ids: string[]) => {
      acked += ids.length;
    });
    let killed = false;
    let journalled = 0;
    box.on('recorded', () => journalled++);
    for (let i = 0; i < total / 2; i++) {
      box.openDoor(8, { force: true });
      box.closeDoor(8);
      // No faster than the board's serial link carries them (it queues 64 messages at most).
      if (i % 10 === 9) await eventually(() => journalled === 2 * (i + 1), 5000, 'journalled');
      if (!killed && acked > 60) {
        hub.child.kill('SIGKILL'); // no shutdown, no flush: whatever was committed is all there is
        killed = true;
      }
    }
    expect(killed).toBe(true);
    hub = await spawnHub(['--http-port', '0', '--mqtt-port', mqttPort, '--data-dir', dataDir]);
    await eventually(() => box?.unacknowledged === 0, 15_000, 'every event acknowledged');
    expect(box.bridge.counters.events).toBe(total);

    const db = new Database(join(dataDir, 'casier.db'), { readonly: true });
    const seqs = db.prepare(`SELECT seq FROM device_events ORDER BY seq`).pluck().all();
    const doors = db
      .prepare(`SELECT count(*) FROM events WHERE type IN ('door.opened', 'door.closed')`)
      .pluck()
      .get();
    db.close();
    expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(doors).toBe(total);
    expect(casier(['audit', 'verify', '--data-dir', dataDir]).code).toBe(0);
  });
});
