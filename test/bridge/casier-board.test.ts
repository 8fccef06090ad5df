import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findProfile } from '../../devices/index.ts';
import { CasierBoardSim } from '../../simulators/boards/casier-board.ts';
import { spawnBridge } from '../helpers/bridge.ts';
import { bounded, eventually, type TestHub } from '../helpers/hub.ts';
import { type LockerRig, lockerRig, visit as visitBoard } from '../helpers/locker.ts';
import { lineProxy } from '../helpers/proxy.ts';

const profile = findProfile('rural-box-8') as NonNullable<ReturnType<typeof findProfile>>;
let rig: LockerRig<CasierBoardSim>;
let t: TestHub;
let board: CasierBoardSim;

beforeEach(async () => {
  rig = await lockerRig({
    site: 'ferme',
    locker: 'box-1',
    profile: 'rural-box-8',
    driver: 'casier',
    board: (path) => new CasierBoardSim({ path, profile }),
  });
  ({ t, board } = rig);
});
afterEach(() => rig?.close());

const state = async (id: string) => (await t.api('GET', `/api/v1/parcels/${id}`)).body.state;

const visit = (code: string, door: number) => visitBoard(board, code, door);

describe('hub + bridge + a casier board on a serial line', () => {
  it('takes a parcel from deposit to pickup through the board keypad', async () => {
    const res = await t.api(
      'POST',
      '/api/v1/parcels',
      { lockerId: 'box-1', size: 'M', temperatureClass: 'chilled', recipient: { name: 'Ada' } },
      t.integration,
    );
    const { parcel, depositCode, pickupCode } = res.body;
    await visit(depositCode, parcel.door);
    await eventually(async () => (await state(parcel.id)) === 'stored', 10_000, 'stored');
    expect(board.display).toBe(`Door ${parcel.door} open`);
    await visit(pickupCode, parcel.door);
    await eventually(async () => (await state(parcel.id)) === 'picked_up', 10_000, 'picked up');
    const channel = profile.compartments.find((c) => c.door === parcel.door)?.lock.channel;
    expect(board.unlocked).toEqual([channel, channel]);
    const types = (await t.api('GET', `/api/v1/events?lockerId=box-1`)).body.events.map(
      (e: { type: string }) => e.type,
    );
    expect(types.filter((x: string) => x === 'device.lock.released')).toHaveLength(2);
    expect(types.filter((x: string) => x === 'door.opened')).toHaveLength(2);
  });

  it('sends an event written to the outbox before a kill -9, once, after the restart', async () => {
    await t.hub.stop(); // nothing can leave the Pi now
    board.openDoor(7, { force: true });
    board.closeDoor(7);
    await eventually(() => rig.held('outbox') === 2, 10_000, 'both events in the outbox');
    await rig.bridge.kill('SIGKILL');
    await t.restart();
    rig.bridge = spawnBridge(rig.bridgeArgs());
    await eventually(
      () =>
        (t.hub.db
          .prepare(`SELECT count(*) FROM device_events WHERE type LIKE 'door.%'`)
          .pluck()
          .get() as number) === 2,
      15_000,
      'the two door events',
    );
    // Acknowledged, the events leave the outbox: nothing is sent again after that. Still two.
    await eventually(() => rig.held('outbox') === 0, 15_000, 'the outbox emptied by the acks');
    const rows = t.hub.db
      .prepare(`SELECT type FROM device_events WHERE type LIKE 'door.%' ORDER BY seq`)
      .pluck()
      .all();
    expect(rows).toEqual(['door.opened', 'door.closed']);
    expect(t.hub.db.prepare(`SELECT count(*) FROM events WHERE type LIKE 'door.%'`).pluck().get()).toBe(2);
  });

  it('exits 1 when its serial adapter is gone, for systemd to open it again, rather than sit deaf', async () => {
    await rig.online();
    await board.stop();
    // The USB adapter pulled: its device node goes (socat removes the link). serialport may see it
    // on a read or the next write (it did in these runs, within two seconds), or spin on the
    // hung-up line without a word; the bridge's watch on the device node finds it either way.
    const exited = new Promise<number | null>((r) => rig.bridge.child.once('exit', r));
    await rig.pty.close();
    expect(await bounded(exited, 10_000, 'the bridge stopped')).toBe(1);
    expect(rig.bridge.output()).toMatch(/serial line lost/);
    // The operator hears of it: the fault went to the hub before the bridge stopped.
    const faults = () =>
      t
        .api('GET', '/api/v1/events?lockerId=box-1&type=device.board.fault')
        .then((r) => r.body.events.map((e: { data: { code: string } }) => e.data.code));
    await eventually(async () => (await faults()).length > 0, 5000, 'the fault at the hub');
    expect(await faults()).toEqual(['serial_lost']);
  });

  it('stops within a second on SIGTERM while its publishes hang on a silent line', async () => {
    // The bridge reaches the hub through a line that will go silent, its TCP connection still up.
    const proxy = await lineProxy(t.hub.mqttPort as number);
    try {
      await rig.bridge.kill();
      rig.bridge = spawnBridge(rig.bridgeArgs(['--mqtt-url', `mqtt://127.0.0.1:${proxy.port}`]));
      await rig.online();
      proxy.stall();
      board.openDoor(7, { force: true });
      board.closeDoor(7);
      await eventually(() => rig.held('outbox') === 2, 10_000, 'both events in the outbox');
      const started = Date.now();
      await rig.bridge.kill('SIGTERM'); // SIGKILL after 5 s
      expect(Date.now() - started).toBeLessThan(1000);
      expect(rig.bridge.child.exitCode).toBe(0);
      expect(rig.held('outbox')).toBe(2); // kept for the next start
    } finally {
      await proxy.close();
    }
  });
});
