import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DeviceEvent, FREE_FAILURES, gs1CheckDigit } from '../../devices/index.ts';
import { Alarms } from '../../hub/domain/coldchain/alarms.ts';
import { Commands } from '../../hub/domain/commands.ts';
import { LockerEvents } from '../../hub/domain/locker-events.ts';
import { Transit } from '../../hub/domain/transit.ts';
import { openStore } from '../../hub/store.ts';

let dir: string;
let store: ReturnType<typeof openStore>;
let lockerEvents: LockerEvents;
let transit: Transit;
const now = 1_700_000_000_000;
let seq = 0;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'casier-locker-'));
  store = openStore(dir, 8, () => now);
  const commands = new Commands(store.db);
  const alarms = new Alarms(store.db, store.ledger);
  transit = new Transit(store.db, store.ledger, store.codes, commands);
  lockerEvents = new LockerEvents(store.db, store.ledger, store.codes, commands, alarms, transit);
  store.provisioning.addDevice({ site: 'ferme', locker: 'box-1' }, 'rural-box-8', 'test');
  store.provisioning.addDevice({ site: 'lyon', locker: 'town-1' }, 'town-locker-16', 'test');
});
afterEach(() => {
  store.db.close();
  rmSync(dir, { recursive: true, force: true });
});

const typed = (code: string): DeviceEvent => ({ id: `e${++seq}`, seq, ts: now, type: 'keypad.entry', code });
const apply = (ev: DeviceEvent) => store.db.transaction(() => lockerEvents.onEvent('box-1', ev, now))();
const type = (code: string) => apply(typed(code));
const door = (type: 'door.opened' | 'door.closed', n: number): DeviceEvent => ({
  id: `e${++seq}`,
  seq,
  ts: now,
  type,
  door: n,
});

describe('the keypad brake in the store', () => {
  it('is rolled back with the transaction that changed it', () => {
    const { depositCode, parcel } = store.parcels.create(
      { lockerId: 'box-1', size: 'S', temperatureClass: 'ambient', recipient: { name: 'Ada' } },
      'test',
    );
    // Enough wrong codes to lock the keypad, in a transaction that then fails.
    expect(() =>
      store.db.transaction(() => {
        for (let i = 0; i <= FREE_FAILURES; i++) lockerEvents.onEvent('box-1', typed(`1111111${i}`), now);
        throw new Error('the disk is full');
      })(),
    ).toThrow('the disk is full');
    // Nothing happened: the valid code opens its door.
    expect(type(depositCode)).toContainEqual(expect.objectContaining({ type: 'unlock', door: parcel.door }));
    // The same wrong codes, committed, lock the keypad (the code could release its door again).
    for (let i = 0; i <= FREE_FAILURES; i++) type(`1111111${i}`);
    expect(type(depositCode)).toEqual([
      expect.objectContaining({ type: 'display', text: 'Too many attempts, wait' }),
    ]);
  });
});

describe('the driver at a cabinet, in the store', () => {
  it('is rolled back with the transaction that changed it', () => {
    const sscc = `37612345670000001${gs1CheckDigit('37612345670000001')}`;
    const { depositCode, parcel } = store.parcels.create(
      {
        lockerId: 'box-1',
        size: 'S',
        temperatureClass: 'ambient',
        recipient: { name: 'Ada' },
        destinationLockerId: 'town-1',
        sscc,
      },
      'test',
    );
    type(depositCode);
    apply(door('door.opened', parcel.door));
    apply(door('door.closed', parcel.door));
    const yann = transit.createDriver('Yann', 'test', now, { sites: ['ferme', 'lyon'] });
    const zoe = transit.createDriver('Zoé', 'test', now, { sites: ['ferme'] });
    expect(type(yann.code)).toContainEqual(expect.objectContaining({ type: 'unlock', door: parcel.door }));
    // Another driver's code, in a transaction that then fails: Yann is still the one at the cabinet.
    expect(() =>
      store.db.transaction(() => {
        lockerEvents.onEvent('box-1', typed(zoe.code), now);
        throw new Error('the disk is full');
      })(),
    ).toThrow('the disk is full');
    apply({ id: `e${++seq}`, seq, ts: now, type: 'scan', data: `]C100${sscc}`, symbology: 'gs1-128' });
    const scanned = store.db.prepare(`SELECT actor FROM events WHERE type = 'transit.scanned'`).pluck().all();
    expect(scanned).toEqual([`driver:${yann.id}`]);
  });
});
