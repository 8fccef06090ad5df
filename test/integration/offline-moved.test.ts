/**
 * A pickup code goes with its parcel: delivered to a town locker after a round, it opens the door
 * allocated there. Its entry in the offline code table stayed keyed for the box it left from, so
 * the town locker's bridge, deciding alone while the hub was away, said "Invalid code" to a
 * customer standing at the right door with the right code.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';
import { orderParcel, sscc, useCode } from '../helpers/parcels.ts';

let t: TestHub;
afterEach(() => t?.close());

describe('a pickup code moved with its parcel', () => {
  it('opens its new door offline too', async () => {
    t = await startTestHub();
    const box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
    const town = await t.locker({ site: 'lyon', locker: 'town-1' }, 'town-locker-16');
    const state = async (id: string) => (await t.api('GET', `/api/v1/parcels/${id}`)).body.state;
    const d = (await t.api('POST', '/api/v1/drivers', { name: 'Yann', sites: ['ferme', 'lyon'] })).body;
    const p = await orderParcel(t, { destinationLockerId: 'town-1', sscc: sscc(7) });
    await useCode(box, p.depositCode, p.parcel.door);
    await eventually(async () => (await state(p.parcel.id)) === 'stored');
    let unlocked = waitFor<[number]>(box, 'unlocked', (door) => door === p.parcel.door);
    box.pressCode(d.code);
    await unlocked;
    box.openDoor(p.parcel.door);
    box.scan(`]C100${sscc(7)}`);
    box.closeDoor(p.parcel.door);
    await eventually(async () => (await state(p.parcel.id)) === 'in_transit');
    const hello = waitFor<[{ type: string }]>(town, 'command', (c) => c.type === 'display');
    town.pressCode(d.code);
    await hello;
    unlocked = waitFor<[number]>(town, 'unlocked');
    town.scan(`]C100${sscc(7)}`);
    const [door] = await unlocked;
    town.openDoor(door);
    town.closeDoor(door);
    await eventually(async () => (await state(p.parcel.id)) === 'ready');

    // The town locker's table holds the pickup code for that door, live.
    await eventually(
      () =>
        town.outbox
          .codeTable()
          ?.entries.some((e) => e.kind === 'pickup' && e.doors.includes(door) && !e.after) === true,
      5000,
      'the pickup code in the town locker’s table',
    );
    // The box it left no longer lists it.
    await eventually(
      () => box.outbox.codeTable()?.entries.every((e) => e.kind !== 'pickup') === true,
      5000,
      'the code gone from the box’s table',
    );
    await t.hub.stop();
    await eventually(() => !town.connected, 5000, 'the bridge offline');
    const opened = waitFor<[number]>(town, 'unlocked', (x) => x === door, 8000);
    town.pressCode(p.pickupCode);
    expect((await opened)[0]).toBe(door);
  });
});
