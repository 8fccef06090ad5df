import { SerialPort } from 'serialport';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KrCu16BusSim } from '../../simulators/boards/kr-cu16-bus.ts';
import { eventually, type TestHub } from '../helpers/hub.ts';
import { type LockerRig, lockerRig } from '../helpers/locker.ts';
import { type PtyPair, ptyPair } from '../helpers/pty.ts';

let rig: LockerRig<KrCu16BusSim>;
let t: TestHub;
let sim: KrCu16BusSim;
let scannerLine: PtyPair;

beforeEach(async () => {
  scannerLine = await ptyPair();
  rig = await lockerRig({
    site: 'lyon',
    locker: 'town-1',
    profile: 'town-locker-24',
    driver: 'kr-cu16',
    keypad: true,
    extraArgs: ['--input', `scanner=lines:${scannerLine.bridge}`],
    // The boards most sold: a set lock bit means locked, an unlock is never answered. The bridge
    // is told nothing about them.
    board: (path) => new KrCu16BusSim({ path, boards: ['open-low', 'open-low'] }),
  });
  ({ t, board: sim } = rig);
});

afterEach(async () => {
  try {
    await rig?.close(); // undefined when the rig failed to start
  } finally {
    await scannerLine.close();
  }
});

const typeOnKeypad = (text: string) => rig.typeOnKeypad(text);

describe('a keypad and a scanner plugged into the Pi', () => {
  it('opens the door on the lock board for codes typed on a USB keypad: deposit, then pickup', async () => {
    const res = await t.api(
      'POST',
      '/api/v1/parcels',
      { lockerId: 'town-1', size: 'M', temperatureClass: 'chilled', recipient: { name: 'Ada' } },
      t.integration,
    );
    const { parcel, depositCode, pickupCode } = res.body;
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
    typeOnKeypad(pickupCode);
    await eventually(() => sim.unlocked.length === 2, 10_000, 'a second unlock on the bus');
    expect(sim.unlocked).toEqual([at, at]);
    await eventually(
      async () =>
        (await t.api('GET', '/api/v1/lockers/town-1')).body.compartments[parcel.door - 1].doorState ===
        'open',
      10_000,
      'open for the pickup',
    );
    sim.closeDoor(board, lock);
    await eventually(
      async () => (await t.api('GET', `/api/v1/parcels/${parcel.id}`)).body.state === 'picked_up',
      10_000,
      'picked up',
    );
    expect(sim.replies.unlock).toBe(0);
    const commands = (await t.api('GET', '/api/v1/events?type=command.failed')).body.events;
    expect(commands).toEqual([]);
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
    expect(scan.data).toMatchObject({
      symbology: 'gs1-128',
      data: '00106141411234567897',
      gs1: { sscc: '106141411234567897' },
    });
    await new Promise<void>((r) => port.close(() => r()));
  });
});
