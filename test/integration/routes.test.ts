/**
 * Windows and routes (issue 22): a full destination resolved by the hub, a parcel redirected by
 * its platform, and a customer sending goods back to their producer through the chain. Real hub,
 * real bridges on simulated cabinets, a real HTTP receiver for the platform's webhooks.
 */
import { createServer, type Server } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SimLocker } from '../../cli/sim-locker.ts';
import { gs1CheckDigit } from '../../devices/index.ts';
import { eventually, startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';
import { orderParcel, useCode } from '../helpers/parcels.ts';

let t: TestHub;
let box: SimLocker;
let town: SimLocker;
let clock: number;
let receiver: Server | undefined;
const received: Array<{ type: string; parcel: { id: string }; data: Record<string, unknown> }> = [];

beforeEach(async () => {
  clock = Date.UTC(2026, 11, 7, 8, 0);
  received.length = 0;
  t = await startTestHub({ now: () => clock, manualTicks: true });
  box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
  town = await t.locker({ site: 'lyon', locker: 'town-1' }, 'town-locker-16');
});
afterEach(async () => {
  await t.close();
  if (receiver) await new Promise((r) => receiver?.close(r));
  receiver = undefined;
});

const sscc = (n: number) => {
  const body = `3761234567${String(n).padStart(7, '0')}`;
  return `${body}${gs1CheckDigit(body)}`;
};
const view = async (id: string, token = t.operator) =>
  (await t.api('GET', `/api/v1/parcels/${id}`, undefined, token)).body;
const state = async (id: string) => (await view(id)).state;
const scan = (locker: SimLocker, code: string) => locker.scan(`]C100${code}`);
const display = (locker: SimLocker) =>
  waitFor<[{ type: string; text?: string }]>(locker, 'command', (c) => c.type === 'display');
const flags = () =>
  t.hub.db
    .prepare(`SELECT json_extract(data, '$.reason') FROM events WHERE type = 'transit.flag' ORDER BY seq`)
    .pluck()
    .all();

/** The platform's webhook receiver, registered with the test platform's token. */
async function platformHooks() {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      received.push(JSON.parse(body));
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => receiver?.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/casier`;
  expect((await t.api('POST', '/api/v1/webhooks', { url }, t.integration)).status).toBe(201);
}

async function driver(sites = ['ferme', 'lyon']) {
  const res = await t.api('POST', '/api/v1/drivers', { name: 'Yann', sites });
  expect(res.status).toBe(201);
  return res.body as { id: string; code: string; token: string };
}

/** A frozen parcel for town-1, deposited at box-1 and collected by `d`: in the van. */
async function inTheVan(d: { code: string }, n: number, body: Record<string, unknown> = {}) {
  const p = await orderParcel(t, {
    temperatureClass: 'frozen',
    destinationLockerId: 'town-1',
    sscc: sscc(n),
    ...body,
  });
  await useCode(box, p.depositCode, p.parcel.door);
  await eventually(async () => (await state(p.parcel.id)) === 'stored');
  const unlocked = waitFor<[number]>(box, 'unlocked', (door) => door === p.parcel.door);
  box.pressCode(d.code);
  await unlocked;
  box.openDoor(p.parcel.door);
  scan(box, sscc(n));
  box.closeDoor(p.parcel.door);
  await eventually(async () => (await state(p.parcel.id)) === 'in_transit', 5000, 'in the van');
  return p;
}

/** Takes both frozen doors of town-1 with parcels of its own. */
async function fillTownFrozen() {
  for (let i = 0; i < 2; i++)
    await orderParcel(t, { lockerId: 'town-1', temperatureClass: 'frozen', recipient: { name: 'X' } });
}

describe('a full destination', () => {
  it('is resolved by the hub: rerouted to a locker of the same site that takes it, and everyone told', async () => {
    const town2 = await t.locker({ site: 'lyon', locker: 'town-2' }, 'town-locker-16');
    await platformHooks();
    const d = await driver();
    const p = await inTheVan(d, 1);
    await fillTownFrozen();

    const hello = display(town);
    town.pressCode(d.code);
    await hello;
    const told = display(town);
    scan(town, sscc(1));
    expect((await told)[0].text).toBe('Full: go to locker town-2');
    const rerouted = await view(p.parcel.id);
    expect(rerouted.destination).toEqual({ lockerId: 'town-2', siteId: null });
    const event = rerouted.timeline.find((e: { type: string }) => e.type === 'parcel.rerouted');
    expect(event.data).toEqual({
      from: { lockerId: 'town-1', siteId: 'lyon' },
      to: { lockerId: 'town-2', siteId: 'lyon' },
      reason: 'destination_full',
    });
    // The driver's round says where it now goes.
    const round = (await t.api('GET', '/api/v1/round', undefined, d.token)).body;
    expect(round.deliver).toEqual([
      { at: 'town-2', parcels: [expect.objectContaining({ id: p.parcel.id })] },
    ]);

    // At town-2, the driver's code and the scan open a door: the parcel is expected there.
    const there = display(town2);
    town2.pressCode(d.code);
    expect((await there)[0].text).toBe('Scan 1 parcel to deliver');
    const unlocked = waitFor<[number]>(town2, 'unlocked');
    scan(town2, sscc(1));
    const [door] = await unlocked;
    town2.openDoor(door);
    town2.closeDoor(door);
    await eventually(async () => (await state(p.parcel.id)) === 'ready', 5000, 'ready at town-2');
    expect(await view(p.parcel.id)).toMatchObject({ lockerId: 'town-2', door });
    expect(flags()).toEqual([]);

    // The customer's code, received at ordering time, opens the door at town-2.
    await useCode(town2, p.pickupCode, door);
    await eventually(async () => (await state(p.parcel.id)) === 'picked_up', 5000, 'picked up');

    const hook = await t.ticked(
      () => received.find((e) => e.type === 'parcel.rerouted'),
      10_000,
      'the platform told',
    );
    expect(hook).toMatchObject({
      parcel: { id: p.parcel.id },
      data: { reason: 'destination_full', to: { lockerId: 'town-2', siteId: 'lyon' } },
    });
  });

  it('in French where the site speaks French', async () => {
    await t.hub.provisioning.addDevice({ site: 'lyon', locker: 'town-2' }, 'town-locker-16', 'test');
    expect((await t.api('PUT', '/api/v1/sites/lyon/settings', { language: 'fr' })).status).toBe(200);
    const d = await driver();
    await inTheVan(d, 2);
    await fillTownFrozen();
    const hello = display(town);
    town.pressCode(d.code);
    await hello;
    const told = display(town);
    scan(town, sscc(2));
    expect((await told)[0].text).toBe('Plein : allez au casier town-2');
  });

  it('with no locker that takes it at the site: the operator is flagged and the parcel stays in the van', async () => {
    const d = await driver();
    const p = await inTheVan(d, 3);
    await fillTownFrozen();
    const hello = display(town);
    town.pressCode(d.code);
    await hello;
    const told = display(town);
    scan(town, sscc(3));
    expect((await told)[0].text).toBe('Full: call the operator');
    expect(flags()).toEqual(['destination_full']);
    expect(await view(p.parcel.id)).toMatchObject({
      state: 'in_transit',
      custody: d.id,
      destination: { lockerId: 'town-1', siteId: null },
    });
  });
});

describe('a parcel redirected by its platform', () => {
  const redirect = (id: string, body: unknown, token = t.integration) =>
    t.api('POST', `/api/v1/parcels/${id}/redirect`, body, token);

  it('in the van: goes to the new locker, the driver’s round says so, and it is delivered there', async () => {
    const town2 = await t.locker({ site: 'lyon', locker: 'town-2' }, 'town-locker-16');
    await platformHooks();
    const d = await driver();
    const p = await inTheVan(d, 11);
    const res = await redirect(p.parcel.id, { lockerId: 'town-2' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({
      state: 'in_transit',
      destination: { lockerId: 'town-2', siteId: null },
    });
    const event = (await view(p.parcel.id)).timeline.find(
      (e: { type: string }) => e.type === 'parcel.rerouted',
    );
    expect(event.data).toEqual({
      from: { lockerId: 'town-1', siteId: 'lyon' },
      to: { lockerId: 'town-2', siteId: 'lyon' },
      reason: 'redirected',
      by: 'integration',
    });
    const round = (await t.api('GET', '/api/v1/round', undefined, d.token)).body;
    expect(round.deliver).toEqual([
      { at: 'town-2', parcels: [expect.objectContaining({ id: p.parcel.id })] },
    ]);
    // A driver who did not look at their round and scans it at town-1 is told where it goes now.
    const hello = display(town);
    town.pressCode(d.code);
    await hello;
    const told = display(town);
    scan(town, sscc(11));
    expect((await told)[0].text).toBe('Not here: go to town-2');
    const unlocked = waitFor<[number]>(town2, 'unlocked');
    town2.pressCode(d.code);
    scan(town2, sscc(11));
    const [door] = await unlocked;
    town2.openDoor(door);
    town2.closeDoor(door);
    await eventually(async () => (await state(p.parcel.id)) === 'ready', 5000, 'ready at town-2');
    await useCode(town2, p.pickupCode, door);
    await eventually(async () => (await state(p.parcel.id)) === 'picked_up', 5000, 'picked up');
    await t.ticked(
      () => received.find((e) => e.type === 'parcel.rerouted' && e.data.reason === 'redirected'),
      10_000,
      'the platform told',
    );
  });

  it('ready but not collected: its code stops at once, a driver takes it to the new locker, the same code opens there', async () => {
    const town2 = await t.locker({ site: 'lyon', locker: 'town-2' }, 'town-locker-16');
    const d = await driver();
    const p = await inTheVan(d, 12);
    const unlocked = waitFor<[number]>(town, 'unlocked');
    town.pressCode(d.code);
    scan(town, sscc(12));
    const [first] = await unlocked;
    town.openDoor(first);
    town.closeDoor(first);
    await eventually(async () => (await state(p.parcel.id)) === 'ready', 5000, 'ready at town-1');

    const res = await redirect(p.parcel.id, { siteId: 'lyon', lockerId: undefined });
    expect(res.status).toBe(409); // it is at that site already: name a locker
    const moved = await redirect(p.parcel.id, { lockerId: 'town-2' });
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    expect(moved.body).toMatchObject({
      state: 'stored',
      lockerId: 'town-1',
      door: first,
      pickupExpiresAt: null,
      destination: { lockerId: 'town-2', siteId: null },
    });
    // The customer's code opens nothing at town-1 any more.
    const refused = display(town);
    town.pressCode(p.pickupCode);
    expect((await refused)[0].text).toBe('Code not valid yet');

    // The driver's next visit to town-1 collects it, and town-2 expects it.
    const round = (await t.api('GET', '/api/v1/round', undefined, d.token)).body;
    expect(round.collect).toEqual([
      { at: 'town-1', parcels: [expect.objectContaining({ id: p.parcel.id })] },
    ]);
    const collect = waitFor<[number]>(town, 'unlocked', (door) => door === first);
    town.pressCode(d.code);
    await collect;
    town.openDoor(first);
    scan(town, sscc(12));
    town.closeDoor(first);
    await eventually(async () => (await state(p.parcel.id)) === 'in_transit', 5000, 'back in the van');
    const there = waitFor<[number]>(town2, 'unlocked');
    town2.pressCode(d.code);
    scan(town2, sscc(12));
    const [door] = await there;
    town2.openDoor(door);
    town2.closeDoor(door);
    await eventually(async () => (await state(p.parcel.id)) === 'ready', 5000, 'ready at town-2');
    await useCode(town2, p.pickupCode, door);
    await eventually(async () => (await state(p.parcel.id)) === 'picked_up', 5000, 'picked up');
    expect(flags()).toEqual([]);
  });

  it('stored for its customer at a locker: its code stops there, and it becomes a parcel a driver takes', async () => {
    await t.hub.provisioning.addDevice({ site: 'lyon', locker: 'town-2' }, 'town-locker-16', 'test');
    const d = await driver();
    const p = await orderParcel(t, { lockerId: 'town-1', sscc: sscc(14) });
    await useCode(town, p.depositCode, p.parcel.door);
    await eventually(async () => (await state(p.parcel.id)) === 'stored');
    const moved = await redirect(p.parcel.id, { siteId: 'lyon' });
    expect(moved.status).toBe(409); // it is at that site already
    const res = await redirect(p.parcel.id, { lockerId: 'town-2' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ state: 'stored', destination: { lockerId: 'town-2', siteId: null } });
    expect((await view(p.parcel.id)).codes.find((c: { kind: string }) => c.kind === 'pickup')).toMatchObject({
      state: 'pending',
    });
    const refused = display(town);
    town.pressCode(p.pickupCode);
    expect((await refused)[0].text).toBe('Code not valid yet');
    const collect = waitFor<[number]>(town, 'unlocked', (door) => door === p.parcel.door);
    town.pressCode(d.code);
    await collect;
    town.openDoor(p.parcel.door);
    scan(town, sscc(14));
    town.closeDoor(p.parcel.door);
    await eventually(async () => (await state(p.parcel.id)) === 'in_transit', 5000, 'in the van');
    const round = (await t.api('GET', '/api/v1/round', undefined, d.token)).body;
    expect(round.deliver).toEqual([
      { at: 'town-2', parcels: [expect.objectContaining({ id: p.parcel.id })] },
    ]);
  });

  it('waits while a door is open to deliver it: that delivery decides where it is', async () => {
    await t.hub.provisioning.addDevice({ site: 'lyon', locker: 'town-2' }, 'town-locker-16', 'test');
    const d = await driver();
    const p = await inTheVan(d, 13);
    const unlocked = waitFor<[number]>(town, 'unlocked');
    town.pressCode(d.code);
    scan(town, sscc(13));
    const [door] = await unlocked;
    town.openDoor(door);
    const busy = await redirect(p.parcel.id, { lockerId: 'town-2' });
    expect(busy.status).toBe(409);
    expect(busy.body.error.code).toBe('HUB_ERR_CONFLICT');
    town.closeDoor(door);
    await eventually(async () => (await state(p.parcel.id)) === 'ready', 5000, 'ready at town-1');
    expect((await view(p.parcel.id)).destination).toEqual({ lockerId: 'town-1', siteId: null });
  });

  it('refuses what cannot be: a locker without a compartment for it, a parcel collected, another platform’s, bad bodies', async () => {
    await t.hub.provisioning.addDevice({ site: 'lyon', locker: 'town-2' }, 'town-locker-16', 'test');
    // A farm-gate box has no frozen door: frozen goods cannot be sent there.
    await t.hub.provisioning.addDevice({ site: 'gaec', locker: 'farm-1' }, 'farm-box-4', 'test');
    const frozen = await orderParcel(t, { temperatureClass: 'frozen', destinationLockerId: 'town-1' });
    const tooBig = await redirect(frozen.parcel.id, { lockerId: 'farm-1' });
    expect(tooBig.status).toBe(409);
    expect(tooBig.body.error.code).toBe('HUB_ERR_NO_COMPARTMENT');

    const p = await orderParcel(t, { lockerId: 'town-1' });
    expect((await redirect(p.parcel.id, { lockerId: 'town-1', siteId: 'lyon' })).status).toBe(400);
    expect((await redirect(p.parcel.id, {})).status).toBe(400);
    expect((await redirect(p.parcel.id, { lockerId: 'nowhere' })).status).toBe(404);
    expect((await redirect('P-NOSUCHPARCEL', { lockerId: 'town-2' })).status).toBe(404);
    const rival = t.hub.provisioning.createToken('integration', 'rival platform', 'test').token;
    expect((await redirect(p.parcel.id, { lockerId: 'town-2' }, rival)).status).toBe(404);
    // Where it already is: nothing to redirect.
    expect((await redirect(p.parcel.id, { lockerId: 'town-1' })).status).toBe(409);

    await useCode(town, p.depositCode, p.parcel.door);
    await eventually(async () => (await state(p.parcel.id)) === 'stored');
    await useCode(town, p.pickupCode, p.parcel.door);
    await eventually(async () => (await state(p.parcel.id)) === 'picked_up');
    const late = await redirect(p.parcel.id, { lockerId: 'town-2' });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('HUB_ERR_INVALID_STATE');
  });
});

describe('a customer sending goods back to their producer', () => {
  const producer = async (name: string) => {
    const res = await t.api('POST', '/api/v1/producers', { name }, t.integration);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as { id: string; token: string };
  };

  /** A chilled parcel of `farm` from box-1, collected by its customer at town-1. */
  async function collected(d: { code: string }, farm: { id: string }, n: number) {
    const p = await orderParcel(t, { destinationLockerId: 'town-1', sscc: sscc(n), producerId: farm.id });
    await useCode(box, p.depositCode, p.parcel.door);
    await eventually(async () => (await state(p.parcel.id)) === 'stored');
    const opened = waitFor<[number]>(box, 'unlocked', (door) => door === p.parcel.door);
    box.pressCode(d.code);
    await opened;
    box.openDoor(p.parcel.door);
    scan(box, sscc(n));
    box.closeDoor(p.parcel.door);
    await eventually(async () => (await state(p.parcel.id)) === 'in_transit');
    const there = waitFor<[number]>(town, 'unlocked');
    town.pressCode(d.code);
    scan(town, sscc(n));
    const [door] = await there;
    town.openDoor(door);
    town.closeDoor(door);
    await eventually(async () => (await state(p.parcel.id)) === 'ready');
    await useCode(town, p.pickupCode, door);
    await eventually(async () => (await state(p.parcel.id)) === 'picked_up');
    return p;
  }

  it('deposits with a return code at the town locker; a driver takes it home; its producer takes it out', async () => {
    await platformHooks();
    const d = await driver();
    const farm = await producer('GAEC du Pic');
    const original = await collected(d, farm, 31);

    const res = await t.api(
      'POST',
      `/api/v1/parcels/${original.parcel.id}/customer-return`,
      {},
      t.integration,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const back = res.body as {
      parcel: { id: string; door: number; lockerId: string; state: string; destination: unknown };
      depositCode: string;
      returnOf: string;
    };
    expect(back).toMatchObject({
      returnOf: original.parcel.id,
      parcel: { state: 'reserved', lockerId: 'town-1', destination: { lockerId: 'box-1', siteId: null } },
    });
    expect(back.depositCode).toMatch(/^\d+$/);
    // Its producer sees it; the original says where its goods went.
    expect((await t.api('GET', `/api/v1/parcels/${back.parcel.id}`, undefined, farm.token)).status).toBe(200);
    const asked = (await view(original.parcel.id)).timeline.find(
      (e: { type: string }) => e.type === 'parcel.customer_return',
    );
    expect(asked.data).toMatchObject({ returnParcelId: back.parcel.id, lockerId: 'town-1' });
    // One return at a time.
    expect(
      (await t.api('POST', `/api/v1/parcels/${original.parcel.id}/customer-return`, {}, t.integration))
        .status,
    ).toBe(409);

    // The customer deposits the goods with their code.
    await useCode(town, back.depositCode, back.parcel.door);
    await eventually(async () => (await state(back.parcel.id)) === 'stored', 5000, 'deposited');

    // The driver's round: collect it at town-1; their code there opens its door.
    const round = (await t.api('GET', '/api/v1/round', undefined, d.token)).body;
    expect(round.collect).toEqual([
      { at: 'town-1', parcels: [expect.objectContaining({ id: back.parcel.id })] },
    ]);
    const collect = waitFor<[number]>(town, 'unlocked', (door) => door === back.parcel.door);
    town.pressCode(d.code);
    await collect;
    town.openDoor(back.parcel.door);
    scan(town, sscc(31));
    town.closeDoor(back.parcel.door);
    await eventually(async () => (await state(back.parcel.id)) === 'in_transit', 5000, 'in the van');

    // At the producer's box, the scan opens a door for it: back home.
    const hello = display(box);
    box.pressCode(d.code);
    expect((await hello)[0].text).toBe('Scan 1 parcel to deliver');
    const home = waitFor<[number]>(box, 'unlocked');
    scan(box, sscc(31));
    const [door] = await home;
    box.openDoor(door);
    box.closeDoor(door);
    await eventually(async () => (await state(back.parcel.id)) === 'returned', 5000, 'returned home');

    // The producer takes it out with a return code (the existing flow).
    const rc = await t.api('POST', `/api/v1/parcels/${back.parcel.id}/return-code`, undefined, farm.token);
    expect(rc.status, JSON.stringify(rc.body)).toBe(201);
    await useCode(box, rc.body.code, door);
    await eventually(
      async () => (await state(back.parcel.id)) === 'retrieved_by_producer',
      5000,
      'taken out',
    );
    const types = (await view(back.parcel.id)).timeline
      .map((e: { type: string }) => e.type)
      .filter((x: string) => x.startsWith('parcel.'));
    expect(types).toEqual([
      'parcel.reserved',
      'parcel.stored',
      'parcel.in_transit',
      'parcel.returned',
      'parcel.retrieved_by_producer',
    ]);
    expect(flags()).toEqual([]);
    // The platform heard all of it, the return's parcel included.
    await t.ticked(
      () =>
        received.some((e) => e.type === 'parcel.customer_return' && e.parcel.id === original.parcel.id) &&
        received.some((e) => e.type === 'parcel.retrieved_by_producer' && e.parcel.id === back.parcel.id),
      10_000,
      'the platform told',
    );
  });

  it('is refused before pickup, to another platform, and for bad bodies', async () => {
    const p = await orderParcel(t, { destinationLockerId: 'town-1' });
    const ask = (id: string, body: unknown = {}, token = t.integration) =>
      t.api('POST', `/api/v1/parcels/${id}/customer-return`, body, token);
    const early = await ask(p.parcel.id);
    expect(early.status).toBe(409);
    expect(early.body.error.code).toBe('HUB_ERR_INVALID_STATE');
    const rival = t.hub.provisioning.createToken('integration', 'rival platform', 'test').token;
    expect((await ask(p.parcel.id, {}, rival)).status).toBe(404);
    expect((await ask('P-NOSUCHPARCEL')).status).toBe(404);
    expect((await ask(p.parcel.id, { lockerId: 'town-1', siteId: 'lyon' })).status).toBe(400);
    expect((await ask(p.parcel.id, { lockerId: 'nowhere' })).status).toBe(404);
  });
});
