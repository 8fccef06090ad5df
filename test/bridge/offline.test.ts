import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findProfile } from '../../devices/index.ts';
import { CasierBoardSim } from '../../simulators/boards/casier-board.ts';
import { type CabinetRig, cabinetRig, visit as visitBoard } from '../helpers/cabinet.ts';
import { eventually, type TestHub, waitFor } from '../helpers/hub.ts';

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
    board: (path) => new CasierBoardSim({ path, profile, sensorEveryMs: 0 }),
  });
  ({ t, board } = rig);
});
afterEach(() => rig?.close());

const visit = (code: string, door: number) => visitBoard(board, code, door, 8000);

// One retry, setup included: these start real processes, and on a loaded 2-core machine a start
// has been seen to miss its 20 s window (cause not found yet; the failure message now carries the
// bridge's output).
describe('a cabinet whose hub is unreachable', { retry: 1 }, () => {
  it('still opens for valid codes, refuses others, and the hub reconciles everything when it is back', async () => {
    const make = async (temperatureClass: string) =>
      (
        await t.api(
          'POST',
          '/api/v1/parcels',
          { lockerId: 'box-1', size: 'M', temperatureClass, recipient: { name: 'Ada' } },
          t.integration,
        )
      ).body;
    const a = await make('chilled');
    const b = await make('frozen');
    await visit(a.depositCode, a.parcel.door); // online
    await eventually(
      async () => (await t.api('GET', `/api/v1/parcels/${a.parcel.id}`)).body.state === 'stored',
      10_000,
      'a stored',
    );
    await eventually(() => rig.codeTableEntries() === 3, 10_000, 'the code table on the Pi'); // a's pickup, b's deposit and pickup

    await t.hub.stop();
    await new Promise((r) => setTimeout(r, 300));
    await visit(a.pickupCode, a.parcel.door); // offline pickup
    await visit(b.depositCode, b.parcel.door); // offline deposit…
    await visit(b.pickupCode, b.parcel.door); // …and the pickup that depends on it
    const before = board.unlocked.length;
    const refused = waitFor<[string]>(board, 'display', (text) => text === 'Invalid code', 8000);
    board.typeCode(a.pickupCode); // used already
    await refused;
    expect(board.unlocked.length).toBe(before);

    await t.restart();
    for (const p of [a, b]) {
      await eventually(
        async () => (await t.api('GET', `/api/v1/parcels/${p.parcel.id}`)).body.state === 'picked_up',
        15_000,
        `${p.parcel.id} picked up`,
      );
    }
    const types = (type: string) =>
      t.hub.db.prepare('SELECT count(*) FROM events WHERE type = ?').pluck().get(type);
    expect(types('code.used_offline')).toBe(3);
    expect(types('offline.conflict')).toBe(0);
    expect(types('device.offline.refused')).toBe(1);
    const ids = t.hub.db
      .prepare('SELECT seq FROM device_events ORDER BY boot_id, seq')
      .pluck()
      .all() as number[];
    expect(new Set(ids).size).toBe(ids.length);
  });
});
