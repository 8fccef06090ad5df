/**
 * The bridge and the casier driver in process, over an in-memory line (cli/sim-locker.ts): the
 * offline codes are the bridge's logic, not its process's; test/bridge/casier-board.test.ts runs
 * the real process over a pseudo-terminal.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SimLocker } from '../../cli/sim-locker.ts';
import type { CasierBoardSim } from '../../simulators/boards/casier-board.ts';
import { eventually, startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';
import { visit as visitBoard } from '../helpers/locker.ts';

let t: TestHub;
let box: SimLocker;
let board: CasierBoardSim;

beforeEach(async () => {
  t = await startTestHub();
  box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
  board = box.board;
});
afterEach(() => t.close());

const visit = (code: string, door: number) => visitBoard(board, code, door, 8000);
const codeTableEntries = () => box.outbox.codeTable()?.entries.length ?? 0;

describe('a cabinet whose hub is unreachable', () => {
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
    await eventually(() => codeTableEntries() === 3, 10_000, 'the code table on the Pi'); // a's pickup, b's deposit and pickup

    await t.hub.stop();
    // Codes go to the offline table once the bridge has seen its link drop.
    await eventually(() => !box.connected, 5000, 'the bridge offline');
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
