import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KrCu16BusSim } from '../../simulators/boards/kr-cu16-bus.ts';
import { eventually, type TestHub } from '../helpers/hub.ts';
import { type LockerRig, lockerRig } from '../helpers/locker.ts';
import { casierAsync } from '../helpers/process.ts';

let rig: LockerRig<KrCu16BusSim>;
let t: TestHub;
let bus: KrCu16BusSim;

beforeEach(async () => {
  rig = await lockerRig({
    site: 'lyon',
    locker: 'town-1',
    profile: 'town-locker-24',
    driver: 'kr-cu16',
    // Board 1 reports its lock bits the other way round; the bridge is told so.
    extraArgs: ['--kr-polarity', '0:open-high,1:open-low'],
    board: (path) => new KrCu16BusSim({ path, boards: ['open-high', 'open-low'] }),
  });
  ({ t, board: bus } = rig);
});
afterEach(() => rig?.close());

const doorEvents = async (door: number) =>
  (await t.api('GET', `/api/v1/events?lockerId=town-1`)).body.events
    .filter((e: { door: number; type: string }) => e.door === door && e.type.startsWith('door.'))
    .map((e: { type: string }) => e.type);

describe('hub + bridge + a bus of two KR-CU16 boards', () => {
  it("pulses exactly the right lock for an operator's remote open and records the door opening and closing", async () => {
    // door 19 = board 1, lock 3 in town-locker-24
    const res = await t.api('POST', '/api/v1/lockers/town-1/compartments/19/open', {
      reason: 'parcel stuck, customer on the phone',
    });
    expect(res.status).toBe(202);
    await eventually(
      async () => (await t.api('GET', `/api/v1/commands/${res.body.commandId}`)).body.state === 'done',
      10_000,
      'unlock done',
    );
    expect(bus.unlocked).toEqual(['1:3']);
    await eventually(async () => (await doorEvents(19)).includes('door.opened'), 10_000, 'door opened');
    bus.closeDoor(1, 3);
    await eventually(
      async () => (await doorEvents(19)).join() === 'door.opened,door.closed',
      10_000,
      'door closed',
    );
    const locker = (await t.api('GET', '/api/v1/lockers/town-1')).body;
    expect(locker.compartments.filter((c: { doorState: string }) => c.doorState === 'open')).toEqual([]);
    expect(locker.compartments.find((c: { door: number }) => c.door === 19).doorState).toBe('closed');
  });

  it('passes its self-test: both boards answer and every lock is pulsed once', async () => {
    await rig.bridge.kill(); // one user per serial line
    const r = await casierAsync(['bridge', 'selftest', ...rig.bridgeArgs(['--json'])]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ part: string; result: string }>;
    expect(rows.filter((x) => /^board \d+$/.test(x.part))).toHaveLength(2);
    // Each board's polarity as its locks showed it, matching what the bridge was told.
    expect(rows.filter((x) => x.part.endsWith(' polarity'))).toEqual([
      expect.objectContaining({
        part: 'board 0 polarity',
        result: 'ok',
        detail: expect.stringContaining('open-high'),
      }),
      expect.objectContaining({
        part: 'board 1 polarity',
        result: 'ok',
        detail: expect.stringContaining('open-low'),
      }),
    ]);
    expect(rows.filter((x) => x.part.endsWith(' lock'))).toHaveLength(24);
    expect(new Set(bus.unlocked).size).toBe(24);
    expect(bus.unlocked).toHaveLength(24);
  });

  it('reports item-present sensors changing', async () => {
    bus.setPresent(0, 5, true);
    await eventually(
      async () => {
        const events = (await t.api('GET', '/api/v1/events?type=device.presence.changed')).body.events;
        return events.some(
          (e: { door: number; data: { present: boolean } }) => e.door === 5 && e.data.present,
        );
      },
      10_000,
      'presence event',
    );
  });
});
