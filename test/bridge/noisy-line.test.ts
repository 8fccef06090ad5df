import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findProfile } from '../../devices/index.ts';
import { CasierBoardSim } from '../../simulators/boards/casier-board.ts';
import { type BridgeProcess, spawnBridge } from '../helpers/bridge.ts';
import { eventually, startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';
import { type PtyPair, ptyPair } from '../helpers/pty.ts';

const FLIP_RATE = 1 / 100; // each byte, each direction: ten times the 1-in-1,000 the bar asks for
const profile = findProfile('rural-box-8') as NonNullable<ReturnType<typeof findProfile>>;
let t: TestHub;
let pty: PtyPair;
let board: CasierBoardSim;
let bridge: BridgeProcess;
let bridgeDir: string;

beforeAll(async () => {
  t = await startTestHub();
  const { password } = t.hub.provisioning.addDevice(
    { site: 'ferme', locker: 'box-1' },
    'rural-box-8',
    'test',
  );
  pty = await ptyPair();
  bridgeDir = mkdtempSync(join(tmpdir(), 'casier-bridge-'));
  board = new CasierBoardSim({ path: pty.board, profile, flipRate: FLIP_RATE });
  await board.start();
  bridge = spawnBridge([
    '--serial',
    pty.bridge,
    '--driver',
    'casier',
    '--profile',
    'rural-box-8',
    '--mqtt-url',
    t.hub.mqttUrl,
    '--locker',
    'ferme/box-1',
    '--password',
    password,
    '--data-dir',
    bridgeDir,
  ]);
  await eventually(async () => (await t.api('GET', '/api/v1/lockers/box-1')).body.online, 15_000, 'online');
});

afterAll(async () => {
  await bridge.kill();
  await board.stop();
  await pty.close();
  await t.close();
  rmSync(bridgeDir, { recursive: true, force: true });
});

describe('a noisy serial line', () => {
  it('never opens another door and loses no event while bits flip', { timeout: 90_000 }, async () => {
    const lockOf = (door: number) =>
      profile.compartments.find((c) => c.door === door)?.lock.channel as number;
    const intended: number[] = [];
    let doorChanges = 0;
    // Background traffic on the same line: the temperature sensors report every 20 ms.
    const sensors = setInterval(
      () =>
        board.temperatures([
          { channel: 0, c: 3.5 },
          { channel: 4, c: -19 },
        ]),
      20,
    );
    for (let i = 0; i < 6; i++) {
      const temperatureClass = (['chilled', 'frozen', 'ambient'] as const)[i % 3];
      const res = await t.api(
        'POST',
        '/api/v1/parcels',
        { lockerId: 'box-1', size: 'M', temperatureClass, recipient: { name: `n${i}` } },
        t.integration,
      );
      const { parcel, depositCode, pickupCode } = res.body;
      for (const code of [depositCode, pickupCode]) {
        // A code garbled on the line may never reach the hub: the person types it again, as at a real keypad.
        for (let attempt = 0; ; attempt++) {
          const unlocked = waitFor<[number]>(board, 'unlocked', () => true, 4000);
          board.typeCode(code);
          const got = await unlocked.catch(() => undefined);
          if (got) {
            expect(got[0]).toBe(parcel.door);
            break;
          }
          expect(attempt).toBeLessThan(5);
        }
        intended.push(lockOf(parcel.door));
        board.openDoor(parcel.door);
        board.closeDoor(parcel.door);
        doorChanges += 2;
        const want = code === depositCode ? 'stored' : 'picked_up';
        await eventually(
          async () => (await t.api('GET', `/api/v1/parcels/${parcel.id}`)).body.state === want,
          15_000,
          want,
        );
      }
    }
    clearInterval(sensors);
    expect(board.unlocked).toEqual(intended);
    // The noise was real: over thousands of bytes, at least one flipped bit per 1,000 bytes.
    expect(board.stats.bytes).toBeGreaterThan(2000);
    expect(board.stats.flipped / board.stats.bytes).toBeGreaterThanOrEqual(1 / 1000);
    await eventually(
      () =>
        (t.hub.db
          .prepare(`SELECT count(*) FROM device_events WHERE type IN ('door.opened', 'door.closed')`)
          .pluck()
          .get() as number) === doorChanges,
      15_000,
      'every door event',
    );
  });
});
