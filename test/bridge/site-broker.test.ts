/**
 * The bridge and the casier driver in process, over an in-memory line (cli/sim-locker.ts), behind
 * a real site broker bridged to a real central one (Mosquitto): what is tested is how the bridge
 * follows the site's line, and the brokers' forwarding.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SimLocker } from '../../cli/sim-locker.ts';
import type { CasierBoardSim } from '../../simulators/boards/casier-board.ts';
import { type SiteBrokers, startSiteBrokers } from '../helpers/brokers.ts';
import { eventually, startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';
import { visit as visitBoard } from '../helpers/locker.ts';

const HUB_PASSWORD = 'hub-secret-for-tests';
let brokers: SiteBrokers | undefined;
let t: TestHub | undefined;
let box: SimLocker;
let board: CasierBoardSim;

beforeEach(async () => {
  brokers = await startSiteBrokers({ username: 'casier-hub', password: HUB_PASSWORD }, 'ferme');
  const { central, site } = brokers;
  t = await startTestHub(
    { mqttUrl: central.url, mqttUsername: 'casier-hub', mqttPassword: HUB_PASSWORD },
    { registerDevice: (u, p) => site.addUser(u, p) },
  );
  box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8', {
    url: site.url,
    siteBroker: true,
    replyTimeoutMs: 5000,
  });
  board = box.board;
});
afterEach(async () => {
  await t?.close();
  await brokers?.stop();
});

const visit = (code: string, door: number) => visitBoard(board, code, door, 8000);

const state = async (id: string) => (await hub().api('GET', `/api/v1/parcels/${id}`)).body.state;
const hub = () => t as TestHub;

describe('a cabinet behind its site broker', () => {
  it('opens for offline codes while the site line is down; the hub reconciles when it is back', async () => {
    const { parcel, depositCode, pickupCode } = (
      await hub().api(
        'POST',
        '/api/v1/parcels',
        { lockerId: 'box-1', size: 'M', temperatureClass: 'chilled', recipient: { name: 'Ada' } },
        hub().integration,
      )
    ).body;
    await visit(depositCode, parcel.door); // through both brokers
    await eventually(async () => (await state(parcel.id)) === 'stored', 10_000, 'stored');
    await eventually(
      () => box.outbox.codeTable()?.entries.length === 1,
      10_000,
      'the pickup code in the table on the Pi',
    );

    const lineDown = waitFor<[boolean]>(box.bridge, 'siteLine', (up) => !up, 10_000);
    brokers?.line.cut();
    await lineDown; // the bridge was told the line is down
    await visit(pickupCode, parcel.door); // the hub is out of reach: offline
    expect(await state(parcel.id)).toBe('stored');

    brokers?.line.restore();
    await eventually(async () => (await state(parcel.id)) === 'picked_up', 20_000, 'picked up, reconciled');
    const types = (await hub().api('GET', '/api/v1/events?lockerId=box-1')).body.events.map(
      (e: { type: string }) => e.type,
    );
    expect(types).toContain('code.used_offline');
    expect(types).not.toContain('offline.conflict');
    expect(board.unlocked).toHaveLength(2);
  });
});
