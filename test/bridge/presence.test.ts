/**
 * A KR-CU16 with item sensors says whether goods are inside each door. A pickup that left the goods
 * inside closed the parcel as picked up and freed the compartment for the next reservation, goods
 * and all; a deposit with nothing put in was stored. The real bridge and driver, the board as the
 * public sources describe it, the hub.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findProfile, type LockerProfile, linePair } from '../../devices/index.ts';
import { Bridge } from '../../firmware-bridge/bridge.ts';
import { KrCu16Driver } from '../../firmware-bridge/drivers/kr-cu16.ts';
import { KIOSK_HEADER, Kiosk } from '../../firmware-bridge/kiosk/kiosk.ts';
import { Outbox } from '../../firmware-bridge/outbox.ts';
import { addProfile } from '../../hub/domain/profiles.ts';
import { openStore } from '../../hub/store.ts';
import { KrCu16BusSim } from '../../simulators/boards/kr-cu16-bus.ts';
import { eventually, startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';

const town = findProfile('town-locker-16') as LockerProfile;
/** The same cabinet with an item sensor behind every door. */
const profile: LockerProfile = {
  ...town,
  name: 'town-locker-16-ir',
  compartments: town.compartments.map((c) => ({ ...c, presence: true })),
};

let t: TestHub;
let bus: KrCu16BusSim;
let bridge: Bridge;
let kiosk: Kiosk;
let dir: string;

beforeEach(async () => {
  t = await startTestHub();
  // As `casier device add --profile ./town-locker-16-ir.json` does.
  const s = openStore(t.dataDir);
  addProfile(s.db, s.ledger, profile, 'test', Date.now());
  const { password } = s.provisioning.addDevice({ site: 'lyon', locker: 'town-1' }, profile.name, 'test');
  s.db.close();
  const [boardEnd, bridgeEnd] = linePair();
  bus = new KrCu16BusSim({ path: boardEnd, boards: ['open-low'] });
  await bus.start();
  dir = mkdtempSync(join(tmpdir(), 'casier-presence-'));
  // The touchscreen's keypad, posted to as its page does.
  kiosk = new Kiosk({ host: '127.0.0.1', port: 0 });
  bridge = new Bridge({
    locker: { site: 'lyon', locker: 'town-1' },
    password,
    mqttUrl: t.hub.mqttUrl,
    profile,
    driver: new KrCu16Driver(bridgeEnd, profile),
    outbox: new Outbox(join(dir, 'bridge')),
    log: pino({ level: 'silent' }),
    inputs: [],
    kiosk,
  });
  const ready = waitFor(bridge, 'ready', () => true, 10_000);
  await bridge.start();
  await ready;
  const online = t.hub.db.prepare('SELECT online FROM lockers WHERE id = ?').pluck();
  await eventually(() => online.get('town-1') === 1, 5000, 'town-1 online');
});

afterEach(async () => {
  await bridge?.stop();
  await bus?.stop();
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

const type = (code: string) =>
  fetch(`http://127.0.0.1:${kiosk.port}/code`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [KIOSK_HEADER]: '1' },
    body: JSON.stringify({ code }),
  });
const state = async (id: string) => (await t.api('GET', `/api/v1/parcels/${id}`)).body.state;

/** Types `code`, waits for its door to be released, opens it, sets what is inside, closes it. */
async function use(code: string, door: number, inside: boolean): Promise<void> {
  const before = bus.unlocked.length;
  await type(code);
  await eventually(() => bus.unlocked.length > before, 5000, `door ${door} released`);
  await eventually(() => bus.open[0]?.[door - 1] === true, 5000, `door ${door} open`);
  await eventually(
    async () =>
      (await t.api('GET', '/api/v1/lockers/town-1')).body.compartments.find(
        (c: { door: number }) => c.door === door,
      ).doorState === 'open',
    5000,
    'the hub sees it open',
  );
  bus.setPresent(0, door, inside);
  bus.closeDoor(0, door);
}

describe('a cabinet whose doors sense the goods', () => {
  it('does not store a deposit that put nothing in, nor close a pickup that left the goods inside', async () => {
    const order = await t.api(
      'POST',
      '/api/v1/parcels',
      { lockerId: 'town-1', size: 'M', temperatureClass: 'ambient', recipient: { name: 'Ada' } },
      t.integration,
    );
    const { parcel, depositCode, pickupCode } = order.body;
    const alarm = async () =>
      (await t.api('GET', '/api/v1/alarms')).body.alarms.find(
        (a: { kind: string }) => a.kind === 'presence_mismatch',
      );

    // The producer opens and closes the door with nothing put in: not stored, told, alarmed.
    await use(depositCode, parcel.door, false);
    await eventually(async () => (await alarm())?.details.reason === 'nothing_deposited', 5000, 'the alarm');
    expect(await state(parcel.id)).toBe('reserved');
    // Their code works again: this time the goods go in.
    await use(depositCode, parcel.door, true);
    await eventually(async () => (await state(parcel.id)) === 'stored', 5000, 'stored');
    await eventually(async () => (await alarm()) === undefined, 5000, 'the alarm cleared');

    // The customer opens and closes the door, the goods still inside: not picked up, the door not freed.
    await use(pickupCode, parcel.door, true);
    await eventually(async () => (await alarm())?.details.reason === 'goods_left', 5000, 'the alarm');
    expect(await state(parcel.id)).toBe('stored');
    const comp = (await t.api('GET', '/api/v1/lockers/town-1')).body.compartments.find(
      (c: { door: number }) => c.door === parcel.door,
    );
    expect(comp.parcel?.id).toBe(parcel.id);
    const events = (await t.api('GET', `/api/v1/parcels/${parcel.id}`)).body.timeline.map(
      (e: { type: string }) => e.type,
    );
    expect(events.filter((e: string) => e === 'parcel.presence_mismatch')).toHaveLength(2);
    // They come back and take it: picked up, the door free.
    await use(pickupCode, parcel.door, false);
    await eventually(async () => (await state(parcel.id)) === 'picked_up', 5000, 'picked up');
  });
});
