import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VirtualLocker } from '../../simulators/locker.ts';
import { eventually, startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';

let t: TestHub;
let box: VirtualLocker;

beforeEach(async () => {
  t = await startTestHub();
  box = await t.cabinet({ site: 'ferme-du-pic', locker: 'box-1' }, 'rural-box-8');
});
afterEach(() => t.close());

async function createParcel(body: Record<string, unknown> = {}) {
  const res = await t.api(
    'POST',
    '/api/v1/parcels',
    { lockerId: 'box-1', size: 'M', temperatureClass: 'chilled', recipient: { name: 'Camille' }, ...body },
    t.integration,
  );
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as {
    parcel: { id: string; door: number; state: string };
    depositCode: string;
    pickupCode: string;
  };
}

/** A person types a code, waits for the latch, opens and closes the door. */
async function useCode(code: string, door: number) {
  const unlocked = waitFor<[number, string]>(box, 'unlocked', (d) => d === door);
  box.pressCode(code);
  await unlocked;
  expect(box.openDoor(door)).toBe(true);
  box.closeDoor(door);
}

const parcelState = async (id: string) => (await t.api('GET', `/api/v1/parcels/${id}`)).body;

describe('a parcel from deposit to pickup', () => {
  it('opens exactly the reserved door for the deposit code, then for the pickup code, and records every step', async () => {
    const { parcel, depositCode, pickupCode } = await createParcel();
    expect(parcel.state).toBe('reserved');
    expect(depositCode).toMatch(/^\d{8}$/);
    expect(pickupCode).toMatch(/^\d{8}$/);
    expect(pickupCode).not.toBe(depositCode);

    // The pickup code opens nothing before the goods are in.
    const early = waitFor<[{ type: string; text?: string }]>(box, 'command', (c) => c.type === 'display');
    box.pressCode(pickupCode);
    expect((await early)[0].text).toBe('Code not valid yet');

    await useCode(depositCode, parcel.door);
    const stored = await eventually(async () => {
      const p = await parcelState(parcel.id);
      return p.state === 'stored' && p;
    });
    expect(stored.storedAt).toBeTypeOf('number');
    expect(stored.pickupExpiresAt).toBeGreaterThan(stored.storedAt);

    const locker = (await t.api('GET', '/api/v1/lockers/box-1')).body;
    const comp = locker.compartments.find((c: { door: number }) => c.door === parcel.door);
    expect(comp).toMatchObject({
      occupied: true,
      doorState: 'closed',
      parcel: { id: parcel.id, state: 'stored' },
    });

    await useCode(pickupCode, parcel.door);
    const done = await eventually(async () => {
      const p = await parcelState(parcel.id);
      return p.state === 'picked_up' && p;
    });
    const types = done.timeline.map((e: { type: string }) => e.type);
    expect(types).toEqual([
      'parcel.reserved',
      'code.rejected',
      'code.accepted',
      'door.opened',
      'door.closed',
      'parcel.stored',
      'code.accepted',
      'door.opened',
      'door.closed',
      'parcel.picked_up',
    ]);
    for (const e of done.timeline.slice(2)) {
      expect(e.lockerId).toBe('box-1');
      expect(e.door).toBe(parcel.door);
      expect(e.actor).toBe('device:box-1');
    }
    // Only the reserved door was ever released.
    const unlocks = box.received.filter((c) => c.type === 'unlock');
    expect(new Set(unlocks.map((c) => (c as { door: number }).door))).toEqual(new Set([parcel.door]));
    // The compartment is free again: the next parcel of that kind gets it.
    const free = (await t.api('GET', '/api/v1/lockers/box-1')).body.compartments.find(
      (c: { door: number }) => c.door === parcel.door,
    );
    expect(free).toMatchObject({ occupied: false, parcel: null });
    expect((await t.api('GET', '/api/v1/audit/verify')).body).toMatchObject({ ok: true });
  });

  it('never stores a typed code in clear', async () => {
    const { depositCode, parcel } = await createParcel();
    await useCode(depositCode, parcel.door);
    await eventually(async () => (await parcelState(parcel.id)).state === 'stored');
    const dump = t.hub.db.prepare("SELECT group_concat(body, '') AS b FROM device_events").get() as {
      b: string;
    };
    const ledger = t.hub.db.prepare("SELECT group_concat(data, '') AS d FROM events").get() as { d: string };
    expect(dump.b).not.toContain(depositCode);
    expect(ledger.d).not.toContain(depositCode);
  });
});
