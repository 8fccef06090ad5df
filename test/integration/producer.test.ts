/**
 * The producer, through their own token: their parcels' temperature records, the state of their
 * codes (never the codes), and taking back a parcel returned to their box. Issue 22.
 */
import { createServer, type Server } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SimLocker } from '../../cli/sim-locker.ts';
import { eventually, startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';
import { orderParcel, sscc, useCode } from '../helpers/parcels.ts';

let t: TestHub;
let box: SimLocker;
let town: SimLocker;
let clock: number;

beforeEach(async () => {
  clock = Date.UTC(2026, 11, 7, 8, 0);
  t = await startTestHub({ now: () => clock, manualTicks: true });
  box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
  town = await t.locker({ site: 'lyon', locker: 'town-1' }, 'town-locker-16');
});
afterEach(() => t.close());

const producer = async (name: string) => {
  const res = await t.api('POST', '/api/v1/producers', { name }, t.integration);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; token: string };
};
const view = async (id: string, token = t.operator) =>
  (await t.api('GET', `/api/v1/parcels/${id}`, undefined, token)).body;
const state = async (id: string) => (await view(id)).state;
const scan = (locker: SimLocker, code: string) => locker.scan(`]C100${code}`);

/**
 * A parcel of `farm` that travelled to town, was not collected, and came back to its box with the
 * next round: `returned`, its goods in `door` of box-1.
 */
async function returnedHome(farm: { id: string }, n: number): Promise<{ id: string; door: number }> {
  const driver = (await t.api('POST', '/api/v1/drivers', { name: 'Yann', sites: ['ferme', 'lyon'] }))
    .body as {
    code: string;
  };
  const a = await orderParcel(t, {
    destinationLockerId: 'town-1',
    sscc: sscc(n),
    producerId: farm.id,
    pickupWindowHours: 1,
  });
  await useCode(box, a.depositCode, a.parcel.door);
  await eventually(async () => (await state(a.parcel.id)) === 'stored');
  box.pressCode(driver.code);
  await waitFor(box, 'unlocked');
  box.openDoor(a.parcel.door);
  scan(box, sscc(n));
  box.closeDoor(a.parcel.door);
  await eventually(async () => (await state(a.parcel.id)) === 'in_transit');
  town.pressCode(driver.code);
  const there = waitFor<[number]>(town, 'unlocked');
  scan(town, sscc(n));
  const [door] = await there;
  town.openDoor(door);
  town.closeDoor(door);
  await eventually(async () => (await state(a.parcel.id)) === 'ready', 5000, 'ready in town');
  clock += 3_600_000 + 1_000;
  await t.hub.tick();
  expect(await state(a.parcel.id)).toBe('expired');
  const back = waitFor<[number]>(town, 'unlocked', (d) => d === door);
  town.pressCode(driver.code);
  await back;
  town.openDoor(door);
  scan(town, sscc(n));
  town.closeDoor(door);
  await eventually(
    async () => (await view(a.parcel.id)).destination?.lockerId === 'box-1',
    5000,
    'heading home',
  );
  box.pressCode(driver.code);
  await waitFor(box, 'command', (c: { type: string }) => c.type === 'display');
  const home = waitFor<[number]>(box, 'unlocked');
  scan(box, sscc(n));
  const [homeDoor] = await home;
  box.openDoor(homeDoor);
  box.closeDoor(homeDoor);
  await eventually(async () => (await state(a.parcel.id)) === 'returned', 5000, 'returned');
  return { id: a.parcel.id, door: homeDoor };
}

describe('a producer reads the temperature record of their parcels', () => {
  it('as JSON and CSV for their own; another producer’s is as unknown to them as an id that does not exist', async () => {
    const farm = await producer('GAEC du Pic');
    const other = await producer('Ferme des Saules');
    const mine = await orderParcel(t, { producerId: farm.id });
    await box.telemetry([{ sensor: 't1', c: 3.1 }]);
    await useCode(box, mine.depositCode, mine.parcel.door);
    await eventually(async () => (await state(mine.parcel.id)) === 'stored');

    const json = await t.api('GET', `/api/v1/parcels/${mine.parcel.id}/temperature`, undefined, farm.token);
    expect(json.status, JSON.stringify(json.body)).toBe(200);
    expect(json.body).toMatchObject({ parcelId: mine.parcel.id, verdict: expect.any(String) });
    const csv = await t.api(
      'GET',
      `/api/v1/parcels/${mine.parcel.id}/temperature?format=csv`,
      undefined,
      farm.token,
    );
    expect(csv.status).toBe(200);
    expect(typeof csv.body).toBe('string');
    expect(csv.body.split('\n').length).toBeGreaterThan(1);

    const theirs = await t.api(
      'GET',
      `/api/v1/parcels/${mine.parcel.id}/temperature`,
      undefined,
      other.token,
    );
    const unknown = await t.api('GET', '/api/v1/parcels/P-NOSUCHPARCEL/temperature', undefined, other.token);
    expect(theirs.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(theirs.body.error.code).toBe(unknown.body.error.code);
    expect(theirs.body.error.code).toBe('HUB_ERR_PARCEL_NOT_FOUND');
    expect(
      (await t.api('GET', `/api/v1/parcels/${mine.parcel.id}/temperature?format=csv`, undefined, other.token))
        .status,
    ).toBe(404);
  });
});

describe('the state of a parcel’s codes', () => {
  it('is shown to its producer, its platform and an operator alike, with deadlines, never the codes', async () => {
    const farm = await producer('GAEC du Pic');
    const p = await orderParcel(t, { producerId: farm.id, pickupWindowHours: 2 });
    const depositDue = (await view(p.parcel.id)).depositExpiresAt;
    const before = await view(p.parcel.id, farm.token);
    expect(before.codes).toEqual([
      expect.objectContaining({ kind: 'deposit', state: 'active', expiresAt: depositDue, usedAt: null }),
      expect.objectContaining({ kind: 'pickup', state: 'pending', expiresAt: null, usedAt: null }),
    ]);

    await useCode(box, p.depositCode, p.parcel.door);
    await eventually(async () => (await state(p.parcel.id)) === 'stored');
    const after = await view(p.parcel.id, farm.token);
    expect(after.codes).toEqual([
      expect.objectContaining({ kind: 'deposit', state: 'used', usedAt: expect.any(Number) }),
      expect.objectContaining({
        kind: 'pickup',
        state: 'active',
        expiresAt: after.storedAt + 2 * 3_600_000,
        lockerId: 'box-1',
        door: p.parcel.door,
      }),
    ]);
    expect((await view(p.parcel.id, t.integration)).codes).toEqual(after.codes);
    expect((await view(p.parcel.id)).codes).toEqual(after.codes);
    for (const token of [farm.token, t.integration, t.operator]) {
      const text = JSON.stringify(await view(p.parcel.id, token));
      expect(text).not.toContain(p.depositCode);
      expect(text).not.toContain(p.pickupCode);
    }

    // A code past its deadline says so, though nothing swept it yet.
    clock = after.codes[1].expiresAt;
    expect((await view(p.parcel.id, farm.token)).codes[1]).toMatchObject({
      kind: 'pickup',
      state: 'expired',
    });
  });

  it('names a return code as such, and a cancelled parcel’s codes as revoked', async () => {
    const farm = await producer('GAEC du Pic');
    const cancelled = await orderParcel(t, { producerId: farm.id, temperatureClass: 'ambient' });
    expect(
      (
        await t.api(
          'POST',
          `/api/v1/parcels/${cancelled.parcel.id}/cancel`,
          { reason: 'order withdrawn' },
          t.integration,
        )
      ).status,
    ).toBe(200);
    expect(
      (await view(cancelled.parcel.id, farm.token)).codes.map((c: { state: string }) => c.state),
    ).toEqual(['revoked', 'revoked']);

    const back = await returnedHome(farm, 41);
    const rc = await t.api('POST', `/api/v1/parcels/${back.id}/return-code`, undefined, farm.token);
    expect(rc.status).toBe(201);
    const codes = (await view(back.id, farm.token)).codes;
    expect(codes.at(-1)).toMatchObject({
      kind: 'return',
      state: 'active',
      lockerId: 'box-1',
      door: back.door,
      expiresAt: rc.body.expiresAt,
    });
    expect(codes.filter((c: { kind: string }) => c.kind === 'pickup')).toEqual([
      expect.objectContaining({ state: 'expired' }),
    ]);
  });
});

describe('a producer takes back a parcel returned to their box', () => {
  let receiver: Server;
  const received: string[] = [];
  afterEach(() => new Promise((r) => receiver.close(r)));

  it('is recorded as the producer’s retrieval, not a customer’s pickup, and the platform hears no pickup', async () => {
    receiver = createServer((req, res) => {
      received.push(String(req.headers['x-casier-event']));
      req.resume();
      req.on('end', () => res.writeHead(200).end('ok'));
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/casier`;
    expect((await t.api('POST', '/api/v1/webhooks', { url }, t.integration)).status).toBe(201);

    const farm = await producer('GAEC du Pic');
    const back = await returnedHome(farm, 42);
    const rc = await t.api('POST', `/api/v1/parcels/${back.id}/return-code`, undefined, farm.token);
    expect(rc.status).toBe(201);
    await useCode(box, rc.body.code, back.door);
    await eventually(async () => (await state(back.id)) !== 'returned', 5000, 'taken back');

    const done = await view(back.id, farm.token);
    expect(done.state).toBe('retrieved_by_producer');
    expect(done.pickedUpAt).toBeNull();
    const types = done.timeline.map((e: { type: string }) => e.type);
    expect(types).toContain('parcel.retrieved_by_producer');
    expect(types).not.toContain('parcel.picked_up');
    expect(done.codes.at(-1)).toMatchObject({ kind: 'return', state: 'used' });
    // The box's door is free again, and the record of the journey is closed.
    const door = (await t.api('GET', '/api/v1/lockers/box-1')).body.compartments.find(
      (c: { door: number }) => c.door === back.door,
    );
    expect(door).toMatchObject({ parcel: null });
    expect(
      (await t.api('GET', '/api/v1/parcels?state=retrieved_by_producer', undefined, farm.token)).body.parcels,
    ).toEqual([expect.objectContaining({ id: back.id })]);
    const record = (await t.api('GET', `/api/v1/parcels/${back.id}/temperature`, undefined, farm.token)).body;
    expect(record.stays.at(-1).to).not.toBeNull();

    await t.ticked(() => received.includes('parcel.retrieved_by_producer'), 10_000, 'retrieval delivered');
    expect(received).not.toContain('parcel.picked_up');
  });

  it('gets no return code for goods an operator already took out: the door may hold another parcel by then', async () => {
    const farm = await producer('GAEC du Pic');
    // Frozen goods: a lane of their own in the box, so the next frozen parcel gets the same door.
    const p = await orderParcel(t, { producerId: farm.id, temperatureClass: 'frozen' });
    await useCode(box, p.depositCode, p.parcel.door);
    await eventually(async () => (await state(p.parcel.id)) === 'stored');
    const unlocked = waitFor(box, 'unlocked');
    const open = await t.api('POST', `/api/v1/lockers/box-1/compartments/${p.parcel.door}/open`, {
      reason: 'goods out for the farm',
      retrieve: true,
    });
    expect(open.status).toBe(202);
    await unlocked;
    box.openDoor(p.parcel.door);
    box.closeDoor(p.parcel.door);
    await eventually(async () => (await state(p.parcel.id)) === 'returned');
    // The door is given to the next parcel.
    const next = await orderParcel(t, { temperatureClass: 'frozen' });
    expect(next.parcel.door).toBe(p.parcel.door);

    const rc = await t.api('POST', `/api/v1/parcels/${p.parcel.id}/return-code`, undefined, farm.token);
    expect(rc.status, JSON.stringify(rc.body)).toBe(409);
  });
});
