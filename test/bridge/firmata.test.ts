import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeKeyEvent, findProfile, keysFor } from '../../devices/index.ts';
import { FirmataBoardSim } from '../../simulators/boards/firmata-board.ts';
import { type BridgeProcess, spawnBridge } from '../helpers/bridge.ts';
import { openForWriting } from '../helpers/fifo.ts';
import { eventually, startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';
import { type PtyPair, ptyPair } from '../helpers/pty.ts';

const profile = findProfile('farm-box-4') as NonNullable<ReturnType<typeof findProfile>>;
let t: TestHub;
let pty: PtyPair;
let board: FirmataBoardSim;
let bridge: BridgeProcess;
let dir: string;
let keypadFd: number;

beforeEach(async () => {
  t = await startTestHub();
  const { password } = t.hub.provisioning.addDevice({ site: 'gaec', locker: 'gate-1' }, 'farm-box-4', 'test');
  pty = await ptyPair();
  dir = mkdtempSync(join(tmpdir(), 'casier-firmata-'));
  const keypad = join(dir, 'keypad-event');
  execFileSync('mkfifo', [keypad]);
  board = new FirmataBoardSim({ path: pty.board, profile });
  board.temperatures.set(0, 3.5);
  board.temperatures.set(1, 9);
  await board.start();
  bridge = spawnBridge([
    '--serial',
    pty.bridge,
    '--driver',
    'firmata',
    '--profile',
    'farm-box-4',
    '--input',
    `keypad=evdev:${keypad}`,
    '--mqtt-url',
    t.hub.mqttUrl,
    '--locker',
    'gaec/gate-1',
    '--password',
    password,
    '--data-dir',
    join(dir, 'bridge'),
  ]);
  keypadFd = await openForWriting(keypad);
  await eventually(async () => (await t.api('GET', '/api/v1/lockers/gate-1')).body.online, 20_000, 'online');
});

afterEach(async () => {
  closeSync(keypadFd);
  await bridge.kill();
  await board.stop();
  await pty.close();
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

function typeOnKeypad(text: string) {
  for (const keys of [...keysFor(text), [96]]) {
    for (const k of keys) writeSync(keypadFd, encodeKeyEvent(k, 1));
    for (const k of [...keys].reverse()) writeSync(keypadFd, encodeKeyEvent(k, 0));
  }
}

describe('hub + bridge + a Firmata board through johnny-five', () => {
  it('pulses the relay of the reserved door, sees the door through its switch, and reads the TMP36 sensors', async () => {
    const res = await t.api(
      'POST',
      '/api/v1/parcels',
      { lockerId: 'gate-1', size: 'M', temperatureClass: 'chilled', recipient: { name: 'Ada' } },
      t.integration,
    );
    const { parcel, depositCode } = res.body;
    const unlocked = waitFor<[number, number]>(board, 'unlocked', () => true, 10_000);
    typeOnKeypad(depositCode);
    const [door, pin] = await unlocked;
    expect(door).toBe(parcel.door);
    expect(pin).toBe(profile.compartments.find((c) => c.door === parcel.door)?.lock.channel);
    expect(board.openDoor(door)).toBe(true);
    await eventually(
      async () =>
        (await t.api('GET', '/api/v1/lockers/gate-1')).body.compartments[door - 1].doorState === 'open',
      10_000,
      'open',
    );
    board.closeDoor(door);
    await eventually(
      async () => (await t.api('GET', `/api/v1/parcels/${parcel.id}`)).body.state === 'stored',
      10_000,
      'stored',
    );
    expect(board.unlocked).toEqual([pin]);
    await eventually(
      async () =>
        /casier_ingest_messages_total\{suffix="telemetry"\} [1-9]/.test(
          (await t.api('GET', '/metrics')).body,
        ),
      10_000,
      'readings at the hub',
    );
  });
});
