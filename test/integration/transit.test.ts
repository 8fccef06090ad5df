import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SimLocker } from '../../cli/sim-locker.ts';
import { gs1CheckDigit } from '../../devices/index.ts';
import { eventually, startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';
import { useCode } from '../helpers/parcels.ts';

let t: TestHub;
let box: SimLocker;
let town: SimLocker;
const sscc = (n: number) => {
  const body = `3761234567${String(n).padStart(7, '0')}`;
  return `${body}${gs1CheckDigit(body)}`;
};

// The hub's clock is the test's: a pickup window ends when the test moves it, not after a wait.
let clock: number;

beforeEach(async () => {
  clock = Date.UTC(2026, 11, 7, 8, 0);
  t = await startTestHub({ now: () => clock, manualTicks: true });
  box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
  town = await t.locker({ site: 'lyon', locker: 'town-1' }, 'town-locker-16');
  // This farm's box opens all the doors of a collection at once (see the last test for one by one).
  expect((await t.api('PUT', '/api/v1/sites/ferme/settings', { driverDoors: 'all' })).status).toBe(200);
});
afterEach(() => t.close());

const state = async (id: string) => (await t.api('GET', `/api/v1/parcels/${id}`)).body.state;
const flags = () =>
  t.hub.db
    .prepare(`SELECT json_extract(data, '$.reason') FROM events WHERE type = 'transit.flag' ORDER BY seq`)
    .pluck()
    .all();
const scan = (locker: SimLocker, code: string) => locker.scan(`]C100${code}`);

async function order(body: Record<string, unknown>) {
  const res = await t.api(
    'POST',
    '/api/v1/parcels',
    { lockerId: 'box-1', size: 'M', recipient: { name: 'Ada' }, ...body },
    t.integration,
  );
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { parcel: { id: string; door: number }; depositCode: string; pickupCode: string };
}

describe('a parcel that travels from a rural box to a town locker', () => {
  it('is deposited, collected by a driver with scans, delivered by scan to a door allocated on arrival, and picked up', async () => {
    const driver = (await t.api('POST', '/api/v1/drivers', { name: 'Yann', sites: ['ferme', 'lyon'] }))
      .body as {
      id: string;
      code: string;
    };
    expect(driver.code).toMatch(/^\d{8}$/);
    const a = await order({ temperatureClass: 'chilled', destinationLockerId: 'town-1', sscc: sscc(1) });
    const b = await order({
      temperatureClass: 'ambient',
      size: 'S',
      destinationSiteId: 'lyon',
      sscc: sscc(2),
    });
    const local = await order({ temperatureClass: 'frozen', sscc: sscc(3) });
    for (const p of [a, b, local]) {
      await useCode(box, p.depositCode, p.parcel.door);
      await eventually(async () => (await state(p.parcel.id)) === 'stored');
    }
    // The pickup code of a travelling parcel opens nothing at the box.
    const early = waitFor<[{ type: string; text?: string }]>(box, 'command', (c) => c.type === 'display');
    box.pressCode(a.pickupCode);
    expect((await early)[0].text).toBe('Code not valid yet');

    // At the box: the driver's code opens the two doors of travelling parcels, not the local one.
    const opened: number[] = [];
    box.on('unlocked', (d: number) => opened.push(d));
    box.pressCode(driver.code);
    await eventually(() => opened.length === 2, 5000, 'two doors');
    expect(opened.sort()).toEqual([a.parcel.door, b.parcel.door].sort());
    box.openDoor(a.parcel.door);
    box.openDoor(b.parcel.door);
    scan(box, sscc(1));
    scan(box, sscc(3)); // the local parcel's label: not in the round
    await eventually(() => flags().length === 1, 5000, 'a flag');
    box.closeDoor(a.parcel.door);
    box.closeDoor(b.parcel.door); // taken or left without a scan
    await eventually(async () => (await state(a.parcel.id)) === 'in_transit', 5000, 'A in transit');
    await eventually(() => flags().length === 2, 5000, 'two flags');
    expect(flags()).toEqual(['not_in_round', 'not_scanned']);
    expect(await state(b.parcel.id)).toBe('stored');
    const free = (await t.api('GET', '/api/v1/lockers/box-1')).body.compartments.find(
      (c: { door: number }) => c.door === a.parcel.door,
    );
    expect(free.parcel).toBeNull();

    // In town: the driver scans the parcel, the hub allocates a chilled door now and opens it.
    const display = waitFor<[{ type: string; text?: string }]>(town, 'command', (c) => c.type === 'display');
    town.pressCode(driver.code);
    expect((await display)[0].text).toBe('Scan 1 parcel to deliver');
    const unlocked = waitFor<[number]>(town, 'unlocked');
    scan(town, sscc(1));
    const [door] = await unlocked;
    expect(town.opts.profile.compartments.find((c) => c.door === door)?.temperatureClass).toBe('chilled');
    town.openDoor(door);
    town.closeDoor(door);
    await eventually(async () => (await state(a.parcel.id)) === 'ready', 5000, 'ready');
    const ready = (await t.api('GET', `/api/v1/parcels/${a.parcel.id}`)).body;
    expect(ready).toMatchObject({ lockerId: 'town-1', door, custody: null });
    expect(ready.pickupExpiresAt).toBeGreaterThan(ready.readyAt);

    // The customer collects with the code received at ordering time.
    await useCode(town, a.pickupCode, door);
    await eventually(async () => (await state(a.parcel.id)) === 'picked_up', 5000, 'picked up');
    const types = (await t.api('GET', `/api/v1/parcels/${a.parcel.id}`)).body.timeline.map(
      (e: { type: string }) => e.type,
    );
    expect(types.filter((x: string) => x.startsWith('parcel.'))).toEqual([
      'parcel.reserved',
      'parcel.stored',
      'parcel.in_transit',
      'parcel.ready',
      'parcel.picked_up',
    ]);
  });

  it('sends the driver to another locker of the site when the destination is full', async () => {
    await t.hub.provisioning.addDevice({ site: 'lyon', locker: 'town-2' }, 'town-locker-16', 'test');
    const driver = (await t.api('POST', '/api/v1/drivers', { name: 'Yann', sites: ['ferme', 'lyon'] }))
      .body as { code: string };
    const a = await order({ temperatureClass: 'frozen', destinationSiteId: 'lyon', sscc: sscc(7) });
    await useCode(box, a.depositCode, a.parcel.door);
    await eventually(async () => (await state(a.parcel.id)) === 'stored');
    box.pressCode(driver.code);
    await waitFor(box, 'unlocked');
    box.openDoor(a.parcel.door);
    scan(box, sscc(7));
    box.closeDoor(a.parcel.door);
    await eventually(async () => (await state(a.parcel.id)) === 'in_transit');
    // town-1's two frozen doors are taken
    for (let i = 0; i < 2; i++)
      await t.api(
        'POST',
        '/api/v1/parcels',
        { lockerId: 'town-1', size: 'M', temperatureClass: 'frozen', recipient: { name: 'X' } },
        t.integration,
      );
    town.pressCode(driver.code);
    await waitFor(town, 'command', (c: { type: string }) => c.type === 'display');
    const full = waitFor<[{ type: string; text?: string }]>(town, 'command', (c) => c.type === 'display');
    scan(town, sscc(7));
    expect((await full)[0].text).toBe('Full: go to locker town-2');
    // Resolved by the hub (the parcel now goes to town-2): nothing for an operator to do.
    expect(flags()).toEqual([]);
  });
});

describe('tokens scoped to a producer or a driver', () => {
  it('shows a producer only their parcels and a driver only their round', async () => {
    const farm = (await t.api('POST', '/api/v1/producers', { name: 'GAEC du Pic' }, t.integration)).body as {
      id: string;
      token: string;
    };
    const other = (await t.api('POST', '/api/v1/producers', { name: 'Ferme Voisine' }, t.integration))
      .body as { id: string; token: string };
    const mine = await order({
      temperatureClass: 'chilled',
      producerId: farm.id,
      destinationLockerId: 'town-1',
      sscc: sscc(11),
    });
    const theirs = await order({ temperatureClass: 'chilled', producerId: other.id });
    const listed = (await t.api('GET', '/api/v1/parcels', undefined, farm.token)).body.parcels.map(
      (p: { id: string }) => p.id,
    );
    expect(listed).toEqual([mine.parcel.id]);
    expect((await t.api('GET', `/api/v1/parcels/${theirs.parcel.id}`, undefined, farm.token)).status).toBe(
      404,
    );
    expect((await t.api('GET', `/api/v1/parcels/${mine.parcel.id}`, undefined, farm.token)).status).toBe(200);
    expect((await t.api('GET', '/api/v1/lockers', undefined, farm.token)).status).toBe(403);

    const driver = (await t.api('POST', '/api/v1/drivers', { name: 'Yann', sites: ['ferme', 'lyon'] }))
      .body as {
      code: string;
      token: string;
    };
    await useCode(box, mine.depositCode, mine.parcel.door);
    await eventually(async () => (await state(mine.parcel.id)) === 'stored');
    const before = (await t.api('GET', '/api/v1/round', undefined, driver.token)).body;
    expect(before.collect).toEqual([
      { at: 'box-1', parcels: [expect.objectContaining({ id: mine.parcel.id, sscc: sscc(11) })] },
    ]);
    expect(before.deliver).toEqual([]);
    box.pressCode(driver.code);
    await waitFor(box, 'unlocked');
    box.openDoor(mine.parcel.door);
    scan(box, sscc(11));
    box.closeDoor(mine.parcel.door);
    await eventually(async () => (await state(mine.parcel.id)) === 'in_transit');
    const after = (await t.api('GET', '/api/v1/round', undefined, driver.token)).body;
    expect(after.deliver).toEqual([
      { at: 'town-1', parcels: [expect.objectContaining({ id: mine.parcel.id })] },
    ]);
    expect((await t.api('GET', '/api/v1/parcels', undefined, driver.token)).status).toBe(403);
  });
});

describe('the driver app', () => {
  it('collects and delivers through the API, with the phone as scanner', async () => {
    const driver = (await t.api('POST', '/api/v1/drivers', { name: 'Yann', sites: ['ferme', 'lyon'] }))
      .body as { token: string };
    const a = await order({ temperatureClass: 'chilled', destinationLockerId: 'town-1', sscc: sscc(21) });
    await useCode(box, a.depositCode, a.parcel.door);
    await eventually(async () => (await state(a.parcel.id)) === 'stored');
    const unlocked = waitFor<[number]>(box, 'unlocked');
    const arrive = await t.api('POST', '/api/v1/round/arrive', { lockerId: 'box-1' }, driver.token);
    expect(arrive.body).toEqual({ doors: [a.parcel.door] });
    await unlocked;
    box.openDoor(a.parcel.door);
    expect(
      (
        await t.api(
          'POST',
          '/api/v1/round/scan',
          { lockerId: 'box-1', data: `(00)${sscc(21)}` },
          driver.token,
        )
      ).status,
    ).toBe(200);
    await eventually(
      () =>
        t.hub.db.prepare(`SELECT count(*) FROM events WHERE type = 'transit.scanned'`).pluck().get() === 1,
    );
    box.closeDoor(a.parcel.door);
    await eventually(async () => (await state(a.parcel.id)) === 'in_transit');
    const delivered = waitFor<[number]>(town, 'unlocked');
    const res = await t.api(
      'POST',
      '/api/v1/round/scan',
      { lockerId: 'town-1', data: `]C100${sscc(21)}` },
      driver.token,
    );
    expect(res.body.doors).toHaveLength(1);
    const [door] = await delivered;
    town.openDoor(door);
    town.closeDoor(door);
    await eventually(async () => (await state(a.parcel.id)) === 'ready');
    expect(
      (await t.api('POST', '/api/v1/round/scan', { lockerId: 'town-1', data: 'not a label' }, driver.token))
        .status,
    ).toBe(400);
  });
});

describe('a parcel nobody collects in town', () => {
  it('goes back to its box with the next round, and its producer takes it back with a code from their app', async () => {
    const farm = (await t.api('POST', '/api/v1/producers', { name: 'GAEC du Pic' }, t.integration)).body as {
      id: string;
      token: string;
    };
    const driver = (await t.api('POST', '/api/v1/drivers', { name: 'Yann', sites: ['ferme', 'lyon'] }))
      .body as { code: string };
    const a = await order({
      temperatureClass: 'chilled',
      destinationLockerId: 'town-1',
      sscc: sscc(31),
      producerId: farm.id,
      pickupWindowHours: 1,
    });
    await useCode(box, a.depositCode, a.parcel.door);
    await eventually(async () => (await state(a.parcel.id)) === 'stored');
    box.pressCode(driver.code);
    await waitFor(box, 'unlocked');
    box.openDoor(a.parcel.door);
    scan(box, sscc(31));
    box.closeDoor(a.parcel.door);
    await eventually(async () => (await state(a.parcel.id)) === 'in_transit');
    town.pressCode(driver.code);
    const there = waitFor<[number]>(town, 'unlocked');
    scan(town, sscc(31));
    const [door] = await there;
    town.openDoor(door);
    town.closeDoor(door);
    await eventually(async () => (await state(a.parcel.id)) === 'ready', 5000, 'ready in town');
    clock += 60 * 60_000 - 1;
    await t.hub.tick();
    expect(await state(a.parcel.id)).toBe('ready');
    clock += 1_001; // the deadline checks whole seconds
    await t.hub.tick();
    expect(await state(a.parcel.id)).toBe('expired');
    expect(
      (await t.api('POST', `/api/v1/parcels/${a.parcel.id}/return-code`, undefined, farm.token)).status,
    ).toBe(409);

    // The next round takes it back: the driver's code in town opens its door too.
    const back = waitFor<[number]>(town, 'unlocked', (d) => d === door);
    town.pressCode(driver.code);
    await back;
    town.openDoor(door);
    scan(town, sscc(31));
    town.closeDoor(door);
    await eventually(
      async () =>
        (await t.api('GET', `/api/v1/parcels/${a.parcel.id}`)).body.destination?.lockerId === 'box-1',
      5000,
      'heading home',
    );
    box.pressCode(driver.code);
    await waitFor(box, 'command', (c: { type: string }) => c.type === 'display');
    const home = waitFor<[number]>(box, 'unlocked');
    scan(box, sscc(31));
    const [homeDoor] = await home;
    box.openDoor(homeDoor);
    box.closeDoor(homeDoor);
    await eventually(async () => (await state(a.parcel.id)) === 'returned', 5000, 'returned');

    const rc = await t.api('POST', `/api/v1/parcels/${a.parcel.id}/return-code`, undefined, farm.token);
    expect(rc.status).toBe(201);
    expect(rc.body).toMatchObject({
      lockerId: 'box-1',
      door: homeDoor,
      code: expect.stringMatching(/^\d{8}$/),
    });
    await useCode(box, rc.body.code, homeDoor);
    // Its producer took it back: no customer picked anything up (producer.test.ts).
    await eventually(async () => (await state(a.parcel.id)) === 'retrieved_by_producer', 5000, 'taken back');
    const types = (await t.api('GET', `/api/v1/parcels/${a.parcel.id}`)).body.timeline
      .map((e: { type: string }) => e.type)
      .filter((x: string) => x.startsWith('parcel.'));
    expect(types).toEqual([
      'parcel.reserved',
      'parcel.stored',
      'parcel.in_transit',
      'parcel.ready',
      'parcel.pickup_reminder',
      'parcel.expired',
      'parcel.in_transit',
      'parcel.returned',
      'parcel.retrieved_by_producer',
    ]);
  });
});

describe('collection one door after another', () => {
  it('opens the next door when the previous one closes, at a site that asks for it', async () => {
    await t.api('PUT', '/api/v1/sites/ferme/settings', { driverDoors: 'sequential' });
    const driver = (await t.api('POST', '/api/v1/drivers', { name: 'Yann', sites: ['ferme', 'lyon'] }))
      .body as { code: string };
    const a = await order({ temperatureClass: 'chilled', destinationLockerId: 'town-1', sscc: sscc(41) });
    const b = await order({ temperatureClass: 'frozen', destinationLockerId: 'town-1', sscc: sscc(42) });
    for (const p of [a, b]) await useCode(box, p.depositCode, p.parcel.door);
    await eventually(async () => (await state(b.parcel.id)) === 'stored');
    const opened: number[] = [];
    box.on('unlocked', (d: number) => opened.push(d));
    box.pressCode(driver.code);
    await eventually(() => opened.length === 1, 5000, 'the first door');
    // The hub decided on the driver's code in one transaction: one door released, the other waits.
    const driverUnlocks = t.hub.db
      .prepare(
        `SELECT count(*) FROM commands WHERE type = 'unlock' AND json_extract(cause, '$.kind') = 'driver'`,
      )
      .pluck();
    expect(driverUnlocks.get()).toBe(1);
    expect(opened).toEqual([a.parcel.door]);
    box.openDoor(a.parcel.door);
    scan(box, sscc(41));
    box.closeDoor(a.parcel.door);
    await eventually(() => opened.length === 2, 5000, 'the next door');
    expect(opened).toEqual([a.parcel.door, b.parcel.door]);
  });
});

describe('a driver at a cabinet when the hub restarts', () => {
  it('is still there: their scan counts and the next door opens when the previous one closes', async () => {
    await t.api('PUT', '/api/v1/sites/ferme/settings', { driverDoors: 'sequential' });
    const driver = (await t.api('POST', '/api/v1/drivers', { name: 'Yann', sites: ['ferme', 'lyon'] }))
      .body as { code: string };
    const a = await order({ temperatureClass: 'chilled', destinationLockerId: 'town-1', sscc: sscc(51) });
    const b = await order({ temperatureClass: 'frozen', destinationLockerId: 'town-1', sscc: sscc(52) });
    for (const p of [a, b]) await useCode(box, p.depositCode, p.parcel.door);
    await eventually(async () => (await state(b.parcel.id)) === 'stored');
    const first = waitFor<[number]>(box, 'unlocked', (d) => d === a.parcel.door);
    box.pressCode(driver.code);
    await first;
    await t.restart();
    const online = () => t.hub.db.prepare('SELECT online FROM lockers WHERE id = ?').pluck().get('box-1');
    await eventually(() => online() === 1, 5000, 'box-1 back online');
    const next = waitFor<[number]>(box, 'unlocked', (d) => d === b.parcel.door);
    box.openDoor(a.parcel.door);
    scan(box, sscc(51));
    box.closeDoor(a.parcel.door);
    await next;
    await eventually(async () => (await state(a.parcel.id)) === 'in_transit', 5000, 'A in transit');
    expect(flags()).toEqual([]);
  });
});
