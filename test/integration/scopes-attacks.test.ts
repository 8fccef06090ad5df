/**
 * A second look at the scopes, as an intruder: each test is an attack. The first ones each worked
 * against the scopes' first commit (9a32556): a stolen operator token minting its own second
 * operator, a minted token outliving its creator, drivers from before rounds acting anywhere, a
 * rival platform taking another's SSCC, the locker view naming others' parcels, an out-of-scope
 * open request told apart from an unknown one. The rest held from the start.
 */

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { SimLocker } from '../../cli/sim-locker.ts';
import { LIVE_PATH, type LiveServerMessage } from '../../devices/index.ts';
import { bounded, eventually, startTestHub, type TestHub } from '../helpers/hub.ts';
import { orderParcel, sscc, useCode } from '../helpers/parcels.ts';

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

const unlocks = () => t.hub.db.prepare("SELECT count(*) FROM commands WHERE type = 'unlock'").pluck().get();
const mint = async (body: Record<string, unknown>, token = t.operator) => {
  const res = await t.api('POST', '/api/v1/tokens', body, token);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; token: string };
};
/** An operator token as `casier token create` makes it on the hub's machine: the API mints none. */
const operatorToken = (name: string, opts: { sites?: string[]; expiresAt?: number } = {}) =>
  t.hub.provisioning.createToken('operator', name, 'cli', opts);
const order = (token: string, body: Record<string, unknown> = {}) =>
  t.api(
    'POST',
    '/api/v1/parcels',
    { lockerId: 'box-1', size: 'S', temperatureClass: 'ambient', recipient: { name: 'x' }, ...body },
    token,
  );

// ---------------------------------------------------------------------------------------------
describe('one stolen operator token is not two operators', () => {
  it('cannot mint a second operator to approve its own bulk open or lift its own suspension', async () => {
    const asked = await t.api('POST', '/api/v1/lockers/box-1/open-requests', {
      doors: [1, 2, 3, 4, 5, 6, 7, 8],
      reason: 'cabinet flooded, empty it',
    });
    expect(asked.status, JSON.stringify(asked.body)).toBe(201);
    // The thief tries to mint a "second operator" with the stolen token: the API makes none.
    const accomplice = await t.api('POST', '/api/v1/tokens', { role: 'operator', name: 'second operator' });
    expect(accomplice.status).toBe(400);
    // An integration token it can mint is no operator.
    const integration = await mint({ role: 'integration', name: 'partner' });
    const approved = await t.api(
      'POST',
      `/api/v1/open-requests/${asked.body.id}/approve`,
      {},
      integration.token,
    );
    expect(approved.status).toBe(403);
    expect(unlocks()).toBe(0);
    const open = (door: number) =>
      t.api('POST', `/api/v1/lockers/box-1/compartments/${door}/open`, { reason: 'support call' });
    for (let door = 1; door <= 5; door++) expect((await open(door)).status).toBe(202);
    expect((await open(6)).status).toBe(429); // suspended now
    const resumed = await t.api(
      'POST',
      '/api/v1/sites/ferme/remote-opens/resume',
      { reason: 'all fine, trust me' },
      integration.token,
    );
    expect(resumed.status).toBe(403);
  });
});

describe('a minted token does not outlive the token that minted it', () => {
  it('expires no later than its creator, by default when it does', async () => {
    const temp = operatorToken('contractor, 1 h', { expiresAt: clock + 3_600_000 });
    const forever = await t.api(
      'POST',
      '/api/v1/tokens',
      { role: 'integration', name: 'forever' },
      temp.token,
    );
    expect(forever.status, JSON.stringify(forever.body)).toBe(201);
    const later = await t.api(
      'POST',
      '/api/v1/tokens',
      { role: 'integration', name: 'later', expiresAt: clock + 7_200_000 },
      temp.token,
    );
    expect(later.status).toBe(400);
    expect(later.body.error.message).toMatch(/cannot outlive/);
    clock += 2 * 3_600_000;
    expect((await t.api('GET', '/api/v1/lockers', undefined, temp.token)).status).toBe(401);
    expect((await t.api('GET', '/api/v1/lockers', undefined, forever.body.token)).status).toBe(401);
  });

  it('is listed with who minted it, and revoked with it on request', async () => {
    const stolen = operatorToken('laptop');
    const child = await mint({ role: 'integration', name: 'backdoor' }, stolen.token);
    const listed = (await t.api('GET', '/api/v1/tokens')).body.tokens;
    expect(listed.find((x: { id: string }) => x.id === child.id)).toMatchObject({
      createdBy: `token:${stolen.id}`,
    });
    expect(listed.find((x: { id: string }) => x.id === stolen.id)).toMatchObject({ createdBy: 'cli' });
    const revoked = await t.api('POST', `/api/v1/tokens/${stolen.id}/revoke`, {
      reason: 'laptop stolen',
      cascade: true,
    });
    expect(revoked.status).toBe(200);
    expect((await t.api('GET', '/api/v1/lockers', undefined, stolen.token)).status).toBe(401);
    expect((await t.api('GET', '/api/v1/lockers', undefined, child.token)).status).toBe(401);
    const events = (await t.api('GET', '/api/v1/events?type=token.revoked')).body.events;
    expect(events.map((e: { data: { id: string } }) => e.data.id).sort()).toEqual(
      [stolen.id, child.id].sort(),
    );
  });
});

describe('drivers from before rounds existed', () => {
  it('open nothing anywhere until an operator gives them a round', async () => {
    const res = await t.api('POST', '/api/v1/drivers', { name: 'Old Yann', sites: ['ferme'] });
    expect(res.status).toBe(201);
    // What the migration leaves for a driver created before it: ADD COLUMN sites, no backfill.
    t.hub.db.prepare('UPDATE drivers SET sites = NULL WHERE id = ?').run(res.body.id);
    const arrive = (lockerId: string) => t.api('POST', '/api/v1/round/arrive', { lockerId }, res.body.token);
    expect((await arrive('town-1')).status, 'an upgraded driver acts at a site off any round').toBe(404);
    expect((await arrive('box-1')).status).toBe(404);
    expect((await t.api('GET', '/api/v1/drivers')).body.drivers[0]).toMatchObject({ sites: null });
    const round = await t.api('PUT', `/api/v1/drivers/${res.body.id}/round`, { sites: ['ferme'] });
    expect(round.status, JSON.stringify(round.body)).toBe(200);
    expect(round.body).toMatchObject({ sites: ['ferme'], active: true });
    expect((await arrive('box-1')).status).toBe(200);
    expect((await arrive('town-1')).status).toBe(404);
  });
});

describe('an SSCC is not a key across platforms', () => {
  it('a rival platform reusing another’s SSCC neither tracks its parcel nor takes its scans', async () => {
    const label = sscc(41);
    const mine = await orderParcel(t, {
      lockerId: 'box-1',
      destinationLockerId: 'town-1',
      sscc: label,
      size: 'S',
      temperatureClass: 'ambient',
    });
    await useCode(box, mine.depositCode, mine.parcel.door);
    await eventually(
      async () => (await t.api('GET', `/api/v1/parcels/${mine.parcel.id}`)).body.state === 'stored',
    );

    clock += 60_000; // a minute later
    const rival = await mint({ role: 'integration', name: 'rival', platform: 'rival-shop' });
    // Same SSCC (read off the label, or the next serial of the sender's GS1 prefix); cancelled at once, it still shadows.
    const decoy = await order(rival.token, { lockerId: 'town-1', sscc: label });
    expect(decoy.status).toBe(201);
    await t.api('POST', `/api/v1/parcels/${decoy.body.parcel.id}/cancel`, { reason: 'decoy' }, rival.token);

    const driver = (await t.api('POST', '/api/v1/drivers', { name: 'Yann', sites: ['ferme', 'lyon'] })).body;
    const arrive = await t.api('POST', '/api/v1/round/arrive', { lockerId: 'box-1' }, driver.token);
    expect(arrive.body.doors).toEqual([mine.parcel.door]);
    const scanned = await t.api(
      'POST',
      '/api/v1/round/scan',
      { lockerId: 'box-1', data: `(00)${label}` },
      driver.token,
    );
    expect(scanned.status).toBe(200);
    box.scan(`]C100${label}`); // and the cabinet's own scanner
    await eventually(
      () => t.hub.db.prepare(`SELECT count(*) FROM events WHERE type = 'device.scan'`).pluck().get() === 1,
    );

    const rivalView = (await t.api('GET', `/api/v1/parcels/${decoy.body.parcel.id}`, undefined, rival.token))
      .body;
    const leaked = rivalView.timeline.filter((e: { lockerId: string | null }) => e.lockerId === 'box-1');
    expect(
      leaked.map((e: { type: string }) => e.type),
      'the rival’s timeline shows scans of the other platform’s parcel at box-1',
    ).toEqual([]);
    const types = (await t.api('GET', `/api/v1/parcels/${mine.parcel.id}`)).body.timeline.map(
      (e: { type: string }) => e.type,
    );
    expect(types, 'the real parcel’s collection scan was recorded').toContain('transit.scanned');
  });
});

describe('the locker view to an integration', () => {
  it('says a door is taken without naming another platform’s parcel', async () => {
    const mine = await orderParcel(t);
    const rival = await mint({ role: 'integration', name: 'rival', platform: 'rival-shop' });
    // The parcel itself is a 404 to the rival…
    expect((await t.api('GET', `/api/v1/parcels/${mine.parcel.id}`, undefined, rival.token)).status).toBe(
      404,
    );
    // …but the cabinet view names it.
    const view = await t.api('GET', '/api/v1/lockers/box-1', undefined, rival.token);
    expect(view.status).toBe(200);
    expect(JSON.stringify(view.body), 'the rival learns the parcel exists').not.toContain(mine.parcel.id);
  });
});

describe('an open request at another site', () => {
  it('is no more than an unknown one to a token limited to sites', async () => {
    const asked = await t.api('POST', '/api/v1/lockers/box-1/open-requests', {
      doors: [1, 2],
      reason: 'cabinet flooded',
    });
    const lyon = operatorToken('Lyon desk', { sites: ['lyon'] });
    const out = await t.api('POST', `/api/v1/open-requests/${asked.body.id}/approve`, {}, lyon.token);
    const unknown = await t.api('POST', '/api/v1/open-requests/BO_nope/approve', {}, lyon.token);
    expect(out.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(out.body.error.code, out.body.error.message).toBe(unknown.body.error.code);
    expect(out.body.error.message).not.toContain('box-1');
  });
});

// ---------------------------------------------------------------------------------------------
describe('a token limited to sites', () => {
  it('stays at its sites on every route tried', async () => {
    const lyon = operatorToken('Lyon desk', { sites: ['lyon'] }).token;
    const as = (method: string, path: string, body?: unknown) => t.api(method, path, body, lyon);
    const mine = await orderParcel(t);
    // Parcels at box-1 by every form.
    expect(
      (
        await as('POST', '/api/v1/parcels', {
          siteId: 'ferme',
          size: 'S',
          temperatureClass: 'ambient',
          recipient: { name: 'x' },
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await as('POST', '/api/v1/parcels', {
          lockerId: 'box-1',
          size: 'S',
          temperatureClass: 'ambient',
          recipient: { name: 'x' },
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await as('POST', '/api/v1/parcels', {
          lockerId: 'town-1',
          destinationSiteId: 'ferme',
          size: 'S',
          temperatureClass: 'ambient',
          recipient: { name: 'x' },
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await as('POST', '/api/v1/parcels', {
          lockerId: 'town-1',
          destinationLockerId: 'box-1',
          size: 'S',
          temperatureClass: 'ambient',
          recipient: { name: 'x' },
        })
      ).status,
    ).toBe(404);
    expect((await as('GET', `/api/v1/parcels?lockerId=box-1`)).body.parcels).toEqual([]);
    expect((await as('GET', `/api/v1/parcels?q=${mine.parcel.id}`)).body.parcels).toEqual([]);
    expect((await as('GET', `/api/v1/parcels/${mine.parcel.id}/temperature`)).status).toBe(404);
    expect(
      (await as('POST', `/api/v1/parcels/${mine.parcel.id}/cancel`, { reason: 'sabotage' })).status,
    ).toBe(404);
    expect((await as('POST', `/api/v1/parcels/${mine.parcel.id}/return-code`)).status).toBe(404);
    expect(
      (await as('POST', `/api/v1/parcels/${mine.parcel.id}/discard`, { reason: 'sabotage' })).status,
    ).toBe(404);
    // Lockers, sensors, sheets, settings, suspensions at ferme.
    expect((await as('GET', '/api/v1/lockers?siteId=ferme')).body.lockers).toEqual([]);
    expect((await as('GET', '/api/v1/lockers/box-1/sensors/t1/readings')).status).toBe(404);
    expect((await as('GET', '/api/v1/lockers/box-1/daily-sheet?date=2026-01-01')).status).toBe(404);
    expect((await as('PUT', '/api/v1/sites/ferme/settings', { driverDoors: 'all' })).status).toBe(404);
    expect((await as('POST', '/api/v1/sites/ferme/remote-opens/resume', { reason: 'lift it' })).status).toBe(
      404,
    );
    expect(
      (await as('POST', '/api/v1/lockers/box-1/compartments/1/open/cancel', { reason: 'cancel it' })).status,
    ).toBe(404);
    expect(
      (await as('POST', '/api/v1/lockers/box-1/open-requests', { doors: [1, 2], reason: 'empty it' })).status,
    ).toBe(404);
    // Network-wide routes.
    const asked = await t.api('POST', '/api/v1/lockers/box-1/open-requests', {
      doors: [1, 2],
      reason: 'flood',
    });
    expect((await as('GET', '/api/v1/open-requests')).body.requests).toEqual([]);
    expect(
      (await as('POST', `/api/v1/open-requests/${asked.body.id}/reject`, { reason: 'no way' })).status,
    ).toBe(404);
    // A command: its own locker's to follow (the dashboard does, after a remote open), none elsewhere.
    const open = (locker: string, token?: string) =>
      t.api('POST', `/api/v1/lockers/${locker}/compartments/3/open`, { reason: 'support call' }, token);
    const theirs = (await open('box-1')).body.commandId;
    const ours = (await open('town-1', lyon)).body.commandId;
    expect((await as('GET', `/api/v1/commands/${ours}`)).body).toMatchObject({ lockerId: 'town-1' });
    expect((await as('GET', `/api/v1/commands/${theirs}`)).status).toBe(404);
    expect((await as('GET', `/api/v1/commands/${'C'.repeat(10)}`)).status).toBe(404);
    expect((await as('GET', '/api/v1/drivers')).status).toBe(403);
    expect((await as('POST', '/api/v1/drivers/DR_x/revoke', { reason: 'bye bye' })).status).toBe(403);
    expect((await as('GET', '/api/v1/tokens')).status).toBe(403);
    expect(
      (await as('POST', '/api/v1/tokens', { role: 'operator', name: 'x', sites: ['lyon'] })).status,
    ).toBe(403);
    expect((await as('POST', '/api/v1/tokens/T_x/revoke', { reason: 'x y z' })).status).toBe(403);
    expect((await as('GET', '/api/v1/events')).status).toBe(403);
    expect((await as('GET', '/api/v1/audit/verify')).status).toBe(403);
    expect((await as('GET', '/api/v1/alarms?siteId=ferme')).body.alarms).toEqual([]);
    expect((await as('PUT', '/api/v1/lockers/box-1/sensors/t1/calibration', { offsetC: 1 })).status).toBe(
      404,
    );
    // Its drivers are drivers of its sites only.
    expect((await as('POST', '/api/v1/drivers', { name: 'Z', sites: ['lyon', 'ferme'] })).status).toBe(404);
  });

  it('a driver of a site-limited operator is kept to that site too', async () => {
    const lyon = operatorToken('Lyon desk', { sites: ['lyon'] }).token;
    const d = (await t.api('POST', '/api/v1/drivers', { name: 'Z', sites: ['lyon'] }, lyon)).body;
    expect((await t.api('POST', '/api/v1/round/arrive', { lockerId: 'box-1' }, d.token)).status).toBe(404);
    expect((await t.api('GET', '/api/v1/parcels', undefined, d.token)).status).toBe(403);
    expect((await t.api('GET', '/api/v1/lockers', undefined, d.token)).status).toBe(403);
  });
});

describe('platforms and quotas', () => {
  it('no oracle between another platform’s things and unknown ones', async () => {
    const mine = await orderParcel(t, { sscc: sscc(7), reference: 'REF-7' });
    const ours = (await t.api('POST', '/api/v1/producers', { name: 'Ferme A' }, t.integration)).body;
    const rival = (await mint({ role: 'integration', name: 'rival' })).token;
    const a = await t.api('GET', `/api/v1/parcels/${mine.parcel.id}`, undefined, rival);
    const b = await t.api('GET', '/api/v1/parcels/P_nope', undefined, rival);
    expect([a.status, a.body.error.code]).toEqual([b.status, b.body.error.code]);
    expect((await t.api('GET', `/api/v1/parcels?sscc=${sscc(7)}`, undefined, rival)).body.parcels).toEqual(
      [],
    );
    expect((await t.api('GET', `/api/v1/parcels?q=(00)${sscc(7)}`, undefined, rival)).body.parcels).toEqual(
      [],
    );
    expect((await t.api('GET', '/api/v1/parcels?reference=REF-7', undefined, rival)).body.parcels).toEqual(
      [],
    );
    const p1 = await order(rival, { producerId: ours.id });
    const p2 = await order(rival, { producerId: 'PR_nope' });
    expect([p1.status, p1.body.error.message.replace(ours.id, 'X')]).toEqual([
      p2.status,
      p2.body.error.message.replace('PR_nope', 'X'),
    ]);
    expect(
      (await t.api('POST', `/api/v1/parcels/${mine.parcel.id}/return-code`, undefined, rival)).status,
    ).toBe(403);
    expect((await t.api('POST', '/api/v1/tokens', { role: 'integration', name: 'x' }, rival)).status).toBe(
      403,
    );
    expect((await t.api('GET', '/api/v1/drivers', undefined, rival)).status).toBe(403);
  });

  it('quotas hold against concurrent creates, both forms, and the 14-day edge', async () => {
    const small = (await mint({ role: 'integration', name: 'small', maxReservations: 2 })).token;
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        order(small, i % 2 ? { lockerId: undefined, siteId: 'ferme' } : { lockerId: 'box-1' }),
      ),
    );
    expect(answers.filter((a) => a.status === 201)).toHaveLength(2);
    expect(answers.filter((a) => a.status === 409)).toHaveLength(8);
    const other = (await mint({ role: 'integration', name: 'other' })).token;
    expect(
      (await order(other, { lockerId: 'town-1', depositExpiresAt: clock + 14 * 86_400_000 + 1 })).body.error
        .code,
    ).toBe('HUB_ERR_QUOTA');
    expect(
      (await order(other, { lockerId: 'town-1', depositExpiresAt: clock + 14 * 86_400_000 })).status,
    ).toBe(201);
  });
});

describe('expiry, revocation and the live feed', () => {
  it('an expiring token is refused at once past expiry, memo or not, and its live feed is cut', async () => {
    const tok = operatorToken('watcher', { expiresAt: clock + 10_000 });
    expect((await t.api('GET', '/api/v1/lockers', undefined, tok.token)).status).toBe(200);
    expect((await t.api('GET', '/api/v1/lockers', undefined, tok.token)).status).toBe(200); // memo hit
    const ws = new WebSocket(`ws://127.0.0.1:${t.hub.httpPort}${LIVE_PATH}`);
    const snapshot = new Promise<void>((resolve) =>
      ws.on('message', (m) => JSON.parse(m.toString()).type === 'snapshot' && resolve()),
    );
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', token: tok.token })));
    await bounded(snapshot, 5000, 'the snapshot');
    clock += 10_000;
    expect((await t.api('GET', '/api/v1/lockers', undefined, tok.token)).status).toBe(401);
    expect(await bounded(closed, 1000, 'the feed cut within a second')).toBe(4401);
  });

  it('the live feed refuses integration and driver tokens', async () => {
    const driver = (await t.api('POST', '/api/v1/drivers', { name: 'Y', sites: ['ferme'] })).body.token;
    for (const token of [t.integration, driver]) {
      const ws = new WebSocket(`ws://127.0.0.1:${t.hub.httpPort}${LIVE_PATH}`);
      const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
      let snap = false;
      ws.on('message', (m) => {
        if (JSON.parse(m.toString()).type === 'snapshot') snap = true;
      });
      ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', token })));
      expect(await bounded(closed, 3000, 'refused')).toBe(4403);
      expect(snap).toBe(false);
    }
  });

  it('the live feed shows a token limited to sites its sites, and nothing of the others', async () => {
    // Something at ferme before the Lyon desk signs in: an alarm and events it must not see.
    box.openDoor(5, { force: true });
    await eventually(async () => (await t.api('GET', '/api/v1/alarms')).body.alarms.length === 1);
    const lyon = operatorToken('Lyon desk', { sites: ['lyon'] }).token;
    const ws = new WebSocket(`ws://127.0.0.1:${t.hub.httpPort}${LIVE_PATH}`);
    const messages: LiveServerMessage[] = [];
    ws.on('message', (m) => messages.push(JSON.parse(m.toString())));
    ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', token: lyon })));
    try {
      const snap = await eventually(() => messages.find((m) => m.type === 'snapshot'));
      if (snap.type !== 'snapshot') throw new Error('unreachable');
      expect(snap.sites.map((x) => x.id)).toEqual(['lyon']);
      expect(snap.lockers.map((l) => l.id)).toEqual(['town-1']);
      expect(snap.alarms).toEqual([]);
      expect(snap.recent.length).toBeGreaterThan(0);
      expect(snap.recent.every((e) => e.lockerId === 'town-1')).toBe(true);

      // Ferme's door shut, its readings, then the same at Lyon: only Lyon's reach the Lyon desk.
      box.closeDoor(5);
      await box.telemetry([{ sensor: 't1', c: 3.25 }]);
      town.openDoor(2, { force: true });
      await town.telemetry([{ sensor: 't7', c: 4.5 }]);
      await eventually(() => messages.some((m) => m.type === 'alarm'));
      await eventually(() => messages.some((m) => m.type === 'readings'));
      const text = JSON.stringify(messages.filter((m) => m.type !== 'snapshot'));
      expect(text).not.toMatch(/box-1|ferme/);
      expect(messages.find((m) => m.type === 'alarm')).toMatchObject({
        alarm: { lockerId: 'town-1', kind: 'door_forced' },
      });
      expect(messages.some((m) => m.type === 'locker' && m.locker.id === 'town-1')).toBe(true);
      const events = messages.flatMap((m) => (m.type === 'events' ? m.events : []));
      expect(events.map((e) => e.type)).toContain('door.opened');

      // A site's settings changed (its events say `siteId`, not `site`): Lyon's reach its desk
      // as the site itself, ferme's not at all.
      const settings = (site: string, token?: string) =>
        t.api('PUT', `/api/v1/sites/${site}/settings`, { timeZone: 'Europe/Paris' }, token);
      expect((await settings('ferme')).status).toBe(200);
      expect((await settings('lyon', lyon)).status).toBe(200);
      await eventually(() =>
        messages.some((m) => m.type === 'site' && m.site.id === 'lyon' && m.site.timeZone === 'Europe/Paris'),
      );
      expect(JSON.stringify(messages.filter((m) => m.type !== 'snapshot'))).not.toMatch(/box-1|ferme/);
    } finally {
      ws.close();
    }
  });

  it('a revoked driver’s token is refused at once', async () => {
    const d = (await t.api('POST', '/api/v1/drivers', { name: 'Y', sites: ['ferme'] })).body;
    expect((await t.api('GET', '/api/v1/round', undefined, d.token)).status).toBe(200);
    expect((await t.api('POST', `/api/v1/drivers/${d.id}/revoke`, { reason: 'left us' })).status).toBe(204);
    expect((await t.api('POST', '/api/v1/round/arrive', { lockerId: 'box-1' }, d.token)).status).toBe(401);
  });
});
