import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeKeyEvent, keysFor } from '../../devices/index.ts';
import { KrCu16BusSim } from '../../simulators/boards/kr-cu16-bus.ts';
import { type BridgeProcess, spawnBridge } from '../helpers/bridge.ts';
import { openForWriting } from '../helpers/fifo.ts';
import { eventually, startTestHub, type TestHub } from '../helpers/hub.ts';
import { type PtyPair, ptyPair } from '../helpers/pty.ts';

let t: TestHub;
let bus: PtyPair;
let scannerLine: PtyPair;
let sim: KrCu16BusSim;
let bridge: BridgeProcess;
let dir: string;
let keypadFd: number;

beforeEach(async () => {
  t = await startTestHub();
  const { password } = t.hub.provisioning.addDevice(
    { site: 'lyon', locker: 'town-1' },
    'town-locker-24',
    'test',
  );
  bus = await ptyPair();
  scannerLine = await ptyPair();
  dir = mkdtempSync(join(tmpdir(), 'casier-inputs-'));
  // A FIFO stands in for /dev/input/eventN: the bridge reads it the same way.
  const keypad = join(dir, 'keypad-event');
  execFileSync('mkfifo', [keypad]);
  sim = new KrCu16BusSim({ path: bus.board, boards: ['open-high', 'open-high'] });
  await sim.start();
  bridge = spawnBridge([
    '--serial',
    bus.bridge,
    '--driver',
    'kr-cu16',
    '--profile',
    'town-locker-24',
    '--input',
    `keypad=evdev:${keypad}`,
    '--input',
    `scanner=lines:${scannerLine.bridge}`,
    '--mqtt-url',
    t.hub.mqttUrl,
    '--locker',
    'lyon/town-1',
    '--password',
    password,
    '--data-dir',
    join(dir, 'bridge'),
  ]);
  // Opening a FIFO for writing waits for its reader (the bridge): done off the main thread.
  keypadFd = await openForWriting(keypad);
  await eventually(async () => (await t.api('GET', '/api/v1/lockers/town-1')).body.online, 15_000, 'online');
});

afterEach(async () => {
  closeSync(keypadFd);
  await bridge.kill();
  await sim.stop();
  await bus.close();
  await scannerLine.close();
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

function typeOnKeypad(text: string) {
  for (const keys of [...keysFor(text), [96]]) {
    for (const k of keys) writeSync(keypadFd, encodeKeyEvent(k, 1));
    for (const k of [...keys].reverse()) writeSync(keypadFd, encodeKeyEvent(k, 0));
  }
}

describe('a keypad and a scanner plugged into the Pi', () => {
  it('opens the reserved door on the lock board for a code typed on a USB keypad', async () => {
    const res = await t.api(
      'POST',
      '/api/v1/parcels',
      { lockerId: 'town-1', size: 'M', temperatureClass: 'chilled', recipient: { name: 'Ada' } },
      t.integration,
    );
    const { parcel, depositCode } = res.body;
    typeOnKeypad(depositCode);
    await eventually(() => sim.unlocked.length === 1, 10_000, 'an unlock on the bus');
    const at = { 17: '1:1', 18: '1:2', 19: '1:3', 20: '1:4' }[parcel.door as 17 | 18 | 19 | 20];
    expect(sim.unlocked).toEqual([at]);
    const [board, lock] = (at as string).split(':').map(Number) as [number, number];
    await eventually(
      async () =>
        (await t.api('GET', '/api/v1/lockers/town-1')).body.compartments[parcel.door - 1].doorState ===
        'open',
      10_000,
      'open',
    );
    sim.closeDoor(board, lock);
    await eventually(
      async () => (await t.api('GET', `/api/v1/parcels/${parcel.id}`)).body.state === 'stored',
      10_000,
      'stored',
    );
  });

  it('records what a serial scanner reads, with its symbology', async () => {
    const port = new SerialPort({ path: scannerLine.board, baudRate: 9600 });
    await new Promise((r) => port.once('open', r));
    port.write(']C100106141411234567897\r\n');
    await eventually(
      async () => (await t.api('GET', '/api/v1/events?type=device.scan')).body.events.length === 1,
      10_000,
      'a scan',
    );
    const [scan] = (await t.api('GET', '/api/v1/events?type=device.scan')).body.events;
    expect(scan.data).toMatchObject({ symbology: 'gs1-128', data: '00106141411234567897' });
    await new Promise<void>((r) => port.close(() => r()));
  });
});
