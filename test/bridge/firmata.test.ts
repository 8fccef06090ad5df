import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findProfile } from '../../devices/index.ts';
import { FirmataBoardSim } from '../../simulators/boards/firmata-board.ts';
import { eventually, type TestHub, waitFor } from '../helpers/hub.ts';
import { type LockerRig, lockerRig } from '../helpers/locker.ts';

const profile = findProfile('farm-box-4') as NonNullable<ReturnType<typeof findProfile>>;
let rig: LockerRig<FirmataBoardSim>;
let t: TestHub;
let board: FirmataBoardSim;

beforeEach(async () => {
  rig = await lockerRig({
    site: 'gaec',
    locker: 'gate-1',
    profile: 'farm-box-4',
    driver: 'firmata',
    keypad: true,
    board: (path) => {
      const sim = new FirmataBoardSim({ path, profile });
      sim.temperatures.set(0, 3.5);
      sim.temperatures.set(1, 9);
      return sim;
    },
  });
  ({ t, board } = rig);
});
afterEach(() => rig?.close());

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
    rig.typeOnKeypad(depositCode);
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
    // +3.5 °C read by a 10-bit ADC against 5 V: about 0.5 °C a step, kept as read, not rounded to
    // whole degrees (+4 °C would sit on a chilled compartment's limit).
    const latest = t.hub.db
      .prepare(`SELECT c FROM readings WHERE locker_id = 'gate-1' AND sensor = 't1' ORDER BY ts DESC LIMIT 1`)
      .pluck();
    const c = (await eventually(() => latest.get() as number | undefined, 10_000, 't1 stored')) as number;
    expect(Math.abs(c - 3.5)).toBeLessThan(0.5);
    expect(Number.isInteger(c)).toBe(false);
  });
});
