import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findProfile } from '../../devices/index.ts';
import { CasierBoardSim } from '../../simulators/boards/casier-board.ts';
import { type SiteBrokers, startSiteBrokers } from '../helpers/brokers.ts';
import { type CabinetRig, cabinetRig, visit as visitBoard } from '../helpers/cabinet.ts';
import { eventually, type TestHub } from '../helpers/hub.ts';

const HUB_PASSWORD = 'hub-secret-for-tests';
const profile = findProfile('rural-box-8') as NonNullable<ReturnType<typeof findProfile>>;
let brokers: SiteBrokers;
let rig: CabinetRig<CasierBoardSim>;
let t: TestHub;
let board: CasierBoardSim;

beforeEach(async () => {
  brokers = await startSiteBrokers({ username: 'casier-hub', password: HUB_PASSWORD }, 'ferme');
  const { central, site } = brokers;
  rig = await cabinetRig({
    site: 'ferme',
    locker: 'box-1',
    profile: 'rural-box-8',
    driver: 'casier',
    board: (path) => new CasierBoardSim({ path, profile, sensorEveryMs: 0 }),
    hub: { mqttUrl: central.url, mqttUsername: 'casier-hub', mqttPassword: HUB_PASSWORD },
    mqttUrl: site.url,
    registerDevice: (u, p) => site.addUser(u, p),
    extraArgs: ['--site-broker'],
  });
  ({ t, board } = rig);
});
afterEach(async () => {
  await rig?.close();
  await brokers?.stop();
});

const visit = (code: string, door: number) => visitBoard(board, code, door, 8000);

const state = async (id: string) => (await t.api('GET', `/api/v1/parcels/${id}`)).body.state;

describe('a cabinet behind its site broker', () => {
  it('opens for offline codes while the site line is down; the hub reconciles when it is back', async () => {
    const { parcel, depositCode, pickupCode } = (
      await t.api(
        'POST',
        '/api/v1/parcels',
        { lockerId: 'box-1', size: 'M', temperatureClass: 'chilled', recipient: { name: 'Ada' } },
        t.integration,
      )
    ).body;
    await visit(depositCode, parcel.door); // through both brokers
    await eventually(async () => (await state(parcel.id)) === 'stored', 10_000, 'stored');
    await eventually(() => rig.codeTableEntries() === 1, 10_000, 'the pickup code in the table on the Pi');

    brokers.line.cut();
    await eventually(
      () => rig.bridge.output().includes('lost its line'),
      10_000,
      'the bridge told the line is down',
    );
    await visit(pickupCode, parcel.door); // the hub is out of reach: offline
    expect(await state(parcel.id)).toBe('stored');

    brokers.line.restore();
    await eventually(async () => (await state(parcel.id)) === 'picked_up', 20_000, 'picked up, reconciled');
    const types = (await t.api('GET', '/api/v1/events?lockerId=box-1')).body.events.map(
      (e: { type: string }) => e.type,
    );
    expect(types).toContain('code.used_offline');
    expect(types).not.toContain('offline.conflict');
    expect(board.unlocked).toHaveLength(2);
  });
});
