import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findProfile } from '../../devices/index.ts';
import { CasierBoardSim } from '../../simulators/boards/casier-board.ts';
import { spawnBridge } from '../helpers/bridge.ts';
import { type CabinetRig, cabinetRig, visit as visitBoard } from '../helpers/cabinet.ts';
import { eventually, type TestHub } from '../helpers/hub.ts';

const profile = findProfile('rural-box-8') as NonNullable<ReturnType<typeof findProfile>>;
let rig: CabinetRig<CasierBoardSim>;
let t: TestHub;
let board: CasierBoardSim;

beforeEach(async () => {
  rig = await cabinetRig({
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

  it('keeps events recorded while the hub is down and delivers them once when it is back', async () => {
    await t.hub.stop();
    board.openDoor(7, { force: true });
    board.closeDoor(7);
    board.openDoor(8, { force: true });
    board.closeDoor(8);
    await new Promise((r) => setTimeout(r, 500));
    await t.restart();
    await eventually(
      () =>
        (t.hub.db
          .prepare(`SELECT count(*) FROM device_events WHERE type LIKE 'door.%'`)
          .pluck()
          .get() as number) === 4,
      15_000,
      'the four door events',
    );
    const doors = t.hub.db
      .prepare(
        `SELECT type || ':' || json_extract(body, '$.door') FROM device_events WHERE type LIKE 'door.%' ORDER BY seq`,
      )
      .pluck()
      .all();
    expect(doors).toEqual(['door.opened:7', 'door.closed:7', 'door.opened:8', 'door.closed:8']);
  });

  it('buffers readings through an outage within its bound and says how many it dropped', async () => {
    await rig.bridge.kill();
    rig.bridge = spawnBridge(rig.bridgeArgs(['--telemetry-buffer', '3']));
    await eventually(
      async () => (await t.api('GET', '/api/v1/lockers/box-1')).body.online,
      15_000,
      'online again',
    );
    await t.hub.stop();
    // Readings sent before the bridge notices the link is gone die with the socket (QoS 0): on a
    // loaded machine that took longer than a fixed pause. Counted from the first one it buffers.
    let c = 2;
    await eventually(
      async () => {
        c += 0.01;
        board.temperatures([{ channel: 0, c }]);
        await new Promise((r) => setTimeout(r, 60)); // one frame each: queued readings would coalesce
        return rig.held('telemetry') > 0;
      },
      10_000,
      'a reading buffered by the bridge',
    );
    for (let i = 0; i < 10; i++) {
      board.temperatures([{ channel: 0, c: 3 + i / 10 }]);
      await new Promise((r) => setTimeout(r, 60));
    }
    expect(rig.held('telemetry')).toBe(3);
    await t.restart();
    // The bridge's reconnect backs off (up to 8-16 s by its fifth attempt): waited for in full.
    await eventually(
      async () => {
        const m = (await t.api('GET', '/metrics')).body as string;
        // 11 readings or more into a buffer of 3
        return Number(/casier_telemetry_dropped_on_device_total (\d+)/.exec(m)?.[1] ?? 0) >= 8;
      },
      30_000,
      'the dropped count at the hub',
    );
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
    await new Promise((r) => setTimeout(r, 4000)); // past a re-send period: still exactly two
    const rows = t.hub.db
      .prepare(`SELECT type FROM device_events WHERE type LIKE 'door.%' ORDER BY seq`)
      .pluck()
      .all();
    expect(rows).toEqual(['door.opened', 'door.closed']);
    expect(t.hub.db.prepare(`SELECT count(*) FROM events WHERE type LIKE 'door.%'`).pluck().get()).toBe(2);
  });
});
