/**
 * A stolen token or a rogue partner against the first wave: a driver's token opened 20 doors at
 * another site, a driver could not be deactivated, tokens could not be listed, revoked or expired
 * (a revoked one's live feed kept streaming), one platform read, searched and cancelled another's
 * parcels, and one token reserved a whole site until the year 3000. Each attack here, as the
 * intruder would run it, over the real API, keypad and live feed.
 */

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { SimLocker } from '../../cli/sim-locker.ts';
import { gs1CheckDigit, LIVE_PATH } from '../../devices/index.ts';
import { openStore } from '../../hub/store.ts';
import { bounded, eventually, startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';
import { orderParcel, useCode } from '../helpers/parcels.ts';

let t: TestHub;
let box: SimLocker;
let town: SimLocker;
let clock: number;
beforeEach(async () => {
  clock = Date.now();
  t = await startTestHub({ now: () => clock });
  box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
  town = await t.locker({ site: 'lyon', locker: 'town-1' }, 'town-locker-16');
});
afterEach(() => t?.close());

const sscc = (n: number) => {
  const body = `3761234567${String(n).padStart(7, '0')}`;
  return `${body}${gs1CheckDigit(body)}`;
};

/** A parcel stored at `lockerId`, bound for the other site: what a driver collects. */
async function travelling(locker: SimLocker, lockerId: string, destinationLockerId: string, n: number) {
  const p = await orderParcel(t, { lockerId, destinationLockerId, sscc: sscc(n) });
  await useCode(locker, p.depositCode, p.parcel.door);
  await eventually(
    async () => (await t.api('GET', `/api/v1/parcels/${p.parcel.id}`)).body.state === 'stored',
  );
  return p;
}

describe('drivers act on their round only', () => {
  it('a driver of one site opens nothing at another, by app or keypad, and is gone once revoked', async () => {
    const res = await t.api('POST', '/api/v1/drivers', { name: 'Yann', sites: ['ferme'] });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const yann = res.body as { id: string; code: string; token: string; sites: string[] };
    expect(yann.sites).toEqual(['ferme']);
    const atTown = await travelling(town, 'town-1', 'box-1', 1);
    await travelling(box, 'box-1', 'town-1', 2);

    // The attack: the driver's app at another site's cabinet. 404, as if it did not exist.
    const arrive = await t.api('POST', '/api/v1/round/arrive', { lockerId: 'town-1' }, yann.token);
    expect(arrive.status).toBe(404);
    const scan = await t.api('POST', '/api/v1/round/scan', { lockerId: 'town-1', data: sscc(1) }, yann.token);
    expect(scan.status).toBe(404);
    // Their round lists their sites' parcels only.
    const round = (await t.api('GET', '/api/v1/round', undefined, yann.token)).body;
    expect(round.collect.map((s: { at: string }) => s.at)).toEqual(['box-1']);

    // Their code at the other site's keypad is no code there.
    const refused = waitFor<[{ type: string; text?: string }]>(town, 'command', (c) => c.type === 'display');
    const opened: number[] = [];
    town.on('unlocked', (d: number) => opened.push(d));
    town.pressCode(yann.code);
    expect((await refused)[0].text).not.toMatch(/Collect/);
    expect(opened).toEqual([]);
    expect(
      (await t.api('GET', `/api/v1/parcels/${atTown.parcel.id}`)).body.state,
      'the parcel at the other site stays where it is',
    ).toBe('stored');

    // At their own site they collect.
    const collect = await t.api('POST', '/api/v1/round/arrive', { lockerId: 'box-1' }, yann.token);
    expect(collect.status).toBe(200);
    expect(collect.body.doors).toHaveLength(1);

    // Revoked: the code and the token stop at once, and the list says so.
    const revoke = await t.api('POST', `/api/v1/drivers/${yann.id}/revoke`, { reason: 'left the company' });
    expect(revoke.status).toBe(204);
    expect((await t.api('GET', '/api/v1/round', undefined, yann.token)).status).toBe(401);
    const drivers = (await t.api('GET', '/api/v1/drivers')).body.drivers;
    expect(drivers).toContainEqual(expect.objectContaining({ id: yann.id, active: false, sites: ['ferme'] }));
    const again = waitFor<[{ type: string; text?: string }]>(box, 'command', (c) => c.type === 'display');
    box.pressCode(yann.code);
    expect((await again)[0].text).not.toMatch(/Collect/);
  });

  it('a driver needs a round, and an expired driver opens nothing', async () => {
    expect((await t.api('POST', '/api/v1/drivers', { name: 'Zoé' })).status).toBe(400);
    expect((await t.api('POST', '/api/v1/drivers', { name: 'Zoé', sites: ['nowhere'] })).status).toBe(404);
    const zoe = (
      await t.api('POST', '/api/v1/drivers', { name: 'Zoé', sites: ['ferme'], expiresAt: clock + 60_000 })
    ).body as { token: string };
    expect((await t.api('GET', '/api/v1/round', undefined, zoe.token)).status).toBe(200);
    clock += 60_000;
    expect((await t.api('GET', '/api/v1/round', undefined, zoe.token)).status).toBe(401);
  });
});

describe('tokens are listed, expire and are revoked', () => {
  it('from the API: listed without their secret, expiring, revoked at once', async () => {
    const created = await t.api('POST', '/api/v1/tokens', {
      role: 'integration',
      name: 'partner',
      expiresAt: clock + 3_600_000,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const partner = created.body as { id: string; token: string };
    expect((await t.api('GET', '/api/v1/sites', undefined, partner.token)).status).toBe(200);
    const list = (await t.api('GET', '/api/v1/tokens')).body.tokens;
    expect(list).toContainEqual(
      expect.objectContaining({
        id: partner.id,
        role: 'integration',
        expiresAt: clock + 3_600_000,
        revokedAt: null,
      }),
    );
    expect(JSON.stringify(list)).not.toContain(partner.token);
    // Past its expiry it is refused.
    clock += 3_600_000;
    expect((await t.api('GET', '/api/v1/sites', undefined, partner.token)).status).toBe(401);

    const other = t.hub.provisioning.createToken('operator', 'night shift', 'cli');
    const revoked = await t.api('POST', `/api/v1/tokens/${other.id}/revoke`, { reason: 'laptop stolen' });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toBe(clock);
    expect((await t.api('GET', '/api/v1/lockers', undefined, other.token)).status).toBe(401);
    const events = (await t.api('GET', '/api/v1/events?type=token.revoked')).body.events;
    expect(events[0].data).toMatchObject({ id: other.id, reason: 'laptop stolen' });
    // Only an operator manages tokens.
    expect((await t.api('GET', '/api/v1/tokens', undefined, t.integration)).status).toBe(403);
  });

  it('a revoked token’s live feed is cut within a second, revoked by the API or by another process', async () => {
    for (const by of ['api', 'store'] as const) {
      const tok = t.hub.provisioning.createToken('operator', `watcher ${by}`, 'cli');
      const ws = new WebSocket(`ws://127.0.0.1:${t.hub.httpPort}${LIVE_PATH}`);
      const snapshot = new Promise<void>((resolve) =>
        ws.on('message', (m) => JSON.parse(m.toString()).type === 'snapshot' && resolve()),
      );
      const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
      ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', token: tok.token })));
      await bounded(snapshot, 5000, 'the snapshot');
      if (by === 'api') {
        expect((await t.api('POST', `/api/v1/tokens/${tok.id}/revoke`, { reason: 'left' })).status).toBe(200);
      } else {
        // As `casier token revoke` does: another connection to the store.
        const cli = openStore(t.dataDir);
        cli.provisioning.revokeToken(tok.id, 'left', 'cli');
        cli.db.close();
      }
      expect(await bounded(closed, 1000, `the feed cut within a second (${by})`)).toBe(4401);
    }
  });
});

describe('an integration sees and acts on its own platform only', () => {
  it('cannot read, search, cancel or order for another platform, and shares with its own platform', async () => {
    const mine = await orderParcel(t, { recipient: { name: 'Ada Lovelace', email: 'ada@example.org' } });
    const rival = (
      await t.api('POST', '/api/v1/tokens', { role: 'integration', name: 'rival', platform: 'rival-shop' })
    ).body.token as string;
    const rivalProducer = (await t.api('POST', '/api/v1/producers', { name: 'Ferme B' }, rival)).body;

    const as = (method: string, path: string, body?: unknown) => t.api(method, path, body, rival);
    expect((await as('GET', '/api/v1/parcels')).body.parcels).toEqual([]);
    expect((await as('GET', '/api/v1/parcels?q=Lovelace')).body.parcels).toEqual([]);
    expect((await as('GET', '/api/v1/parcels?q=ada@example')).body.parcels).toEqual([]);
    expect((await as('GET', `/api/v1/parcels/${mine.parcel.id}`)).status).toBe(404);
    expect((await as('GET', `/api/v1/parcels/${mine.parcel.id}/temperature`)).status).toBe(404);
    expect(
      (await as('POST', `/api/v1/parcels/${mine.parcel.id}/cancel`, { reason: 'sabotage' })).status,
    ).toBe(404);
    expect((await t.api('GET', `/api/v1/parcels/${mine.parcel.id}`)).body.state).toBe('reserved');

    // Ordering for another platform's producer: that producer does not exist for it.
    const ours = (await t.api('POST', '/api/v1/producers', { name: 'Ferme A' }, t.integration)).body;
    const forTheirs = await as('POST', '/api/v1/parcels', {
      lockerId: 'box-1',
      size: 'S',
      temperatureClass: 'ambient',
      recipient: { name: 'x' },
      producerId: ours.id,
    });
    expect(forTheirs.status).toBe(400);
    expect(forTheirs.body.error.message).toMatch(/no producer/);
    const forOwn = await as('POST', '/api/v1/parcels', {
      lockerId: 'box-1',
      size: 'S',
      temperatureClass: 'ambient',
      recipient: { name: 'x' },
      producerId: rivalProducer.id,
    });
    expect(forOwn.status).toBe(201);

    // A second token of the rival's platform sees what the first created.
    const rival2 = (
      await t.api('POST', '/api/v1/tokens', { role: 'integration', name: 'rival 2', platform: 'rival-shop' })
    ).body.token as string;
    const seen = (await t.api('GET', '/api/v1/parcels', undefined, rival2)).body.parcels;
    expect(seen.map((p: { id: string }) => p.id)).toEqual([forOwn.body.parcel.id]);
    // The operator sees everything.
    expect((await t.api('GET', '/api/v1/parcels')).body.parcels).toHaveLength(2);
  });

  it('cannot hold a whole site, nor a deposit due in the year 3000', async () => {
    const order = (token: string, body: Record<string, unknown> = {}) =>
      t.api(
        'POST',
        '/api/v1/parcels',
        { lockerId: 'box-1', size: 'S', temperatureClass: 'ambient', recipient: { name: 'x' }, ...body },
        token,
      );
    const greedy = (await t.api('POST', '/api/v1/tokens', { role: 'integration', name: 'greedy' })).body
      .token as string;
    const far = await order(greedy, { depositExpiresAt: Date.UTC(3000, 0, 1) });
    expect(far.status).toBe(409);
    expect(far.body.error.code).toBe('HUB_ERR_QUOTA');
    // By default a platform holds at most three quarters of a site's doors: 6 of rural-box-8's 8
    // (4 chilled, 2 frozen, 2 ambient), though all 8 are free.
    const classes = ['chilled', 'chilled', 'chilled', 'chilled', 'frozen', 'frozen', 'ambient', 'ambient'];
    const answers = [];
    for (const temperatureClass of classes)
      answers.push(await order(greedy, { temperatureClass, size: 'S' }));
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201, 201, 201, 409, 409]);
    expect(answers[7]?.body.error.code).toBe('HUB_ERR_QUOTA');
    // Cancelling one gives its place back.
    const first = answers[0]?.body.parcel.id;
    expect(
      (await t.api('POST', `/api/v1/parcels/${first}/cancel`, { reason: 'changed mind' }, greedy)).status,
    ).toBe(200);
    expect((await order(greedy, { temperatureClass: 'ambient', size: 'S' })).status).toBe(201);
    // A quota the operator set.
    const small = (
      await t.api('POST', '/api/v1/tokens', { role: 'integration', name: 'small', maxReservations: 1 })
    ).body.token as string;
    expect((await order(small, { lockerId: 'town-1' })).status).toBe(201);
    const second = await order(small, { lockerId: 'town-1' });
    expect(second.status).toBe(409);
    expect(second.body.error.message).toMatch(/quota/);
  });
});

describe('an operator token limited to sites', () => {
  it('sees and opens its sites only, and is refused where a route spans the network', async () => {
    const regional = t.hub.provisioning.createToken('operator', 'Lyon desk', 'cli', {
      sites: ['lyon'],
    }).token;
    const as = (method: string, path: string, body?: unknown) => t.api(method, path, body, regional);
    expect((await as('GET', '/api/v1/lockers')).body.lockers.map((l: { id: string }) => l.id)).toEqual([
      'town-1',
    ]);
    expect((await as('GET', '/api/v1/sites')).body.sites.map((s: { id: string }) => s.id)).toEqual(['lyon']);
    expect((await as('GET', '/api/v1/lockers/box-1')).status).toBe(404);
    expect(
      (await as('POST', '/api/v1/lockers/box-1/compartments/1/open', { reason: 'let me in' })).status,
    ).toBe(404);
    expect(
      (await as('POST', '/api/v1/lockers/town-1/compartments/1/open', { reason: 'support call' })).status,
    ).toBe(202);
    const atFerme = await orderParcel(t);
    expect((await as('GET', `/api/v1/parcels/${atFerme.parcel.id}`)).status).toBe(404);
    expect((await as('GET', '/api/v1/parcels')).body.parcels).toEqual([]);
    const events = await as('GET', '/api/v1/events');
    expect(events.status).toBe(403);
    expect(events.body.error.message).toMatch(/limited to sites lyon/);
    expect((await as('POST', '/api/v1/tokens', { role: 'integration', name: 'escalate' })).status).toBe(403);
    // The cold chain of its sites only: rules, contacts, sheets and alarms elsewhere do not exist.
    expect((await as('GET', '/api/v1/sites/lyon/rules')).status).toBe(200);
    expect((await as('GET', '/api/v1/sites/ferme/rules')).status).toBe(404);
    expect((await as('PUT', '/api/v1/sites/ferme/alarm-contacts', { contacts: [] })).status).toBe(404);
    expect((await as('GET', '/api/v1/lockers/box-1/daily-sheet?date=2026-01-01')).status).toBe(404);
    // An alarm at the other site, as the cold chain would raise it.
    t.hub.db
      .prepare(
        `INSERT INTO alarms (id, locker_id, sensor, kind, level, state, raised_at, details)
           VALUES ('A-ferme', 'box-1', 't1', 'temperature_high', 'critical', 'raised', ?, '{}')`,
      )
      .run(clock);
    expect((await as('GET', '/api/v1/alarms')).body.alarms).toEqual([]);
    const all = await t.api('GET', '/api/v1/alarms');
    expect(all.body.alarms, JSON.stringify(all.body)).toHaveLength(1);
    expect((await as('POST', '/api/v1/alarms/A-ferme/ack', { comment: 'seen' })).status).toBe(404);
    expect((await as('POST', '/api/v1/webhooks', { url: 'https://example.org/hook' })).status).toBe(403);
    expect((await as('POST', '/api/v1/drivers', { name: 'Yann', sites: ['ferme'] })).status).toBe(404);
  });
});
