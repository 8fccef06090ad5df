/**
 * The real StandardFirmata (test/fixtures/firmata) running in avr8js, its pins as the board sees
 * them: a door contact is a switch to ground read through the pin's pull-up, so a pull-up turned
 * off is a door that never reads open. Hub, the real `casier bridge --driver firmata`, and the
 * firmware on a socat pseudo-terminal pair.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findProfile } from '../../devices/index.ts';
import { AvrUno } from '../helpers/avr-uno.ts';
import { eventually, type TestHub, waitFor } from '../helpers/hub.ts';
import { type LockerRig, lockerRig } from '../helpers/locker.ts';
import { type Ordered, orderParcel } from '../helpers/parcels.ts';

const HEX = fileURLToPath(new URL('../fixtures/firmata/StandardFirmata.uno.hex', import.meta.url));
const profile = findProfile('farm-box-4') as NonNullable<ReturnType<typeof findProfile>>;
const CONTACTS = profile.compartments.flatMap((c) => (c.contact ? [c.contact.channel] : []));
/** TMP36 on A0 and A1: 10 mV/°C, 500 mV at 0 °C; 3.2 and 1.5 °C, within the chilled range. */
const VOLTS = { t1: 0.532, t2: 0.515 } as const;
const celsius = (volts: number) => (volts * 1000 - 500) / 10;
/** One step of a 10-bit ADC against 5 V, in °C: 5000 / 1024 mV. */
const ADC_STEP_C = 5000 / 1024 / 10;

let rig: LockerRig<AvrUno>;
let t: TestHub;
let uno: AvrUno;

beforeEach(async () => {
  rig = await lockerRig({
    site: 'gaec',
    locker: 'gate-1',
    profile: 'farm-box-4',
    driver: 'firmata',
    keypad: true,
    board: (path) => {
      // Door contacts start closed (the profile's), sensors at their voltages.
      const board = new AvrUno({ path, hex: HEX, profile });
      board.setAnalogVolts(0, VOLTS.t1);
      board.setAnalogVolts(1, VOLTS.t2);
      return board;
    },
  });
  ({ t, board: uno } = rig);
});
afterEach(() => rig?.close());

const doorState = async (door: number) =>
  (await t.api('GET', '/api/v1/lockers/gate-1')).body.compartments[door - 1].doorState as string;
const parcelState = async (id: string) => (await t.api('GET', `/api/v1/parcels/${id}`)).body.state as string;

/**
 * Types `code`; the door's relay pulses and nothing else on the board moves; the customer opens
 * the door, the hub sees it open, the customer closes it; the parcel reaches `state`.
 */
async function useDoor(parcel: Ordered['parcel'], code: string, state: string): Promise<void> {
  const { door } = parcel;
  const lock = profile.compartments.find((c) => c.door === door)?.lock.channel as number;
  const edges = uno.edges.length;
  const pullups = uno.pullupChanges.length;
  const unlocked = waitFor<[number, number]>(uno, 'unlocked', (d) => d === door, 10_000);
  rig.typeOnKeypad(code);
  expect((await unlocked)[1]).toBe(lock);
  // The port write that raised the relay left every contact's pull-up as it was.
  expect
    .soft(
      CONTACTS.filter((pin) => !uno.pullup(pin)),
      'contacts without their pull-up',
    )
    .toEqual([]);
  expect(uno.openDoor(door)).toBe(true);
  await eventually(async () => (await doorState(door)) === 'open', 10_000, `door ${door} open at the hub`);
  uno.closeDoor(door);
  await eventually(async () => (await parcelState(parcel.id)) === state, 10_000, state);
  await eventually(() => uno.output(lock) === 0, 5000, `relay D${lock} released`);
  // One pulse on its own relay, and no other pin moved: no output, no pull-up.
  expect(uno.edges.slice(edges).map(({ pin, level }) => ({ pin, level }))).toEqual([
    { pin: lock, level: 1 },
    { pin: lock, level: 0 },
  ]);
  expect(uno.pullupChanges.slice(pullups)).toEqual([]);
  expect(CONTACTS.filter((pin) => !uno.pullup(pin))).toEqual([]);
}

describe('hub + bridge + the real StandardFirmata in avr8js', () => {
  it('deposits and picks up at doors 1 and 2 without disturbing another pin, and keeps the TMP36 decimals', async ({
    annotate,
  }) => {
    expect(uno.firmataVersion).toBe('2.4');
    const ready = uno.timing();
    // Both chilled M doors, so the two parcels go to doors 1 and 2 (contacts D6, D7).
    const a = await orderParcel(t, { lockerId: 'gate-1' });
    const b = await orderParcel(t, { lockerId: 'gate-1' });
    expect([a.parcel.door, b.parcel.door].sort()).toEqual([1, 2]);
    await useDoor(a.parcel, a.depositCode, 'stored');
    await useDoor(b.parcel, b.depositCode, 'stored');
    await useDoor(a.parcel, a.pickupCode, 'picked_up');
    await useDoor(b.parcel, b.pickupCode, 'picked_up');
    expect((await t.api('GET', '/api/v1/events?type=command.failed')).body.events).toEqual([]);
    // StandardFirmata makes every digital pin an output at LOW on reset, until the bridge sets the
    // contacts as inputs; never HIGH, which would short a closed contact to ground.
    expect(uno.edges.filter((e) => CONTACTS.includes(e.pin) && e.level === 1)).toEqual([]);

    // Read by a 10-bit ADC against 5 V (AVcc, the firmware's choice): within one step of the
    // sensor's temperature, not rounded.
    const latest = t.hub.db
      .prepare(`SELECT c FROM readings WHERE locker_id = 'gate-1' AND sensor = ? ORDER BY ts DESC LIMIT 1`)
      .pluck();
    for (const [sensor, volts] of Object.entries(VOLTS)) {
      const c = (await eventually(
        () => latest.get(sensor) as number | undefined,
        10_000,
        `${sensor} stored`,
      )) as number;
      expect(Math.abs(c - celsius(volts)), `${sensor} ${c} °C`).toBeLessThanOrEqual(ADC_STEP_C);
      expect(Number.isInteger(c), `${sensor} ${c} °C`).toBe(false);
    }
    expect(uno.adcReference).toBe(5);
    // Emulated against wall time, from reset and since the cabinet came online (its bridge's
    // start competes for the CPU).
    const done = uno.timing();
    const rate = (done.emulatedMs - ready.emulatedMs) / (done.wallMs - ready.wallMs);
    await annotate(
      `emulated ${done.emulatedMs.toFixed(0)} ms in ${done.wallMs.toFixed(0)} ms of wall time ` +
        `(${ready.lagMs.toFixed(0)} ms behind once online, ${done.lagMs.toFixed(0)} ms at the end, ` +
        `${(rate * 100).toFixed(0)} % of real time since online, at most ${done.maxLagMs.toFixed(0)} ms behind), ` +
        `emulating ${(done.busy * 100).toFixed(0)} % of the time`,
    );
  });
});
