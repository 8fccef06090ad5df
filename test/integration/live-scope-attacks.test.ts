/**
 * The live feed of a token limited to sites, attacked: ledger events kept at one of its lockers
 * whose data names another site's parcels and lockers, and what a limited token's way in costs
 * everyone else on a long ledger. Something outside a token's scope does not exist for it: the
 * feed shows no more of another site than the API does (a 404).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { SimLocker } from '../../cli/sim-locker.ts';
import { LIVE_PATH, type LiveServerMessage } from '../../devices/index.ts';
import { Ledger } from '../../hub/db/ledger.ts';
import { loadOrCreateKey } from '../../hub/domain/secrets.ts';
import { eventually, startTestHub, type TestHub } from '../helpers/hub.ts';
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

const lyonToken = () =>
  t.hub.provisioning.createToken('operator', 'Lyon desk', 'cli', { sites: ['lyon'] }).token;

/** A live feed signed in with `token`: every message it got so far. */
function feed(token: string) {
  const ws = new WebSocket(`ws://127.0.0.1:${t.hub.httpPort}${LIVE_PATH}`);
  const messages: LiveServerMessage[] = [];
  ws.on('message', (m) => {
    const msg = JSON.parse(m.toString()) as LiveServerMessage;
    messages.push(msg);
  });
  ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', token })));
  return {
    messages,
    ws,
    snapshot: () => eventually(() => messages.find((m) => m.type === 'snapshot')),
    events: () =>
      messages.flatMap((m) => (m.type === 'events' ? m.events : m.type === 'snapshot' ? m.recent : [])),
  };
}

describe('the live feed of a token limited to sites', () => {
  it('does not show another site’s parcel and lockers through a redirect that left one of its lockers', async () => {
    await t.locker({ site: 'paris', locker: 'city-1' }, 'town-locker-16');
    // A parcel at ferme's box, going to Lyon's locker: ferme's, not Lyon's, until it is delivered.
    const p = await orderParcel(t, { destinationLockerId: 'town-1', sscc: sscc(7) });
    await useCode(box, p.depositCode, p.parcel.door);
    await eventually(
      async () => (await t.api('GET', `/api/v1/parcels/${p.parcel.id}`)).body.state === 'stored',
    );
    const lyon = lyonToken();
    // As far as the Lyon desk can tell through the API, that parcel does not exist.
    expect((await t.api('GET', `/api/v1/parcels/${p.parcel.id}`, undefined, lyon)).status).toBe(404);
    const f = feed(lyon);
    try {
      await f.snapshot();
      // Head office sends it to Paris instead: `parcel.rerouted` is kept at its former destination.
      const moved = await t.api('POST', `/api/v1/parcels/${p.parcel.id}/redirect`, { lockerId: 'city-1' });
      expect(moved.status, JSON.stringify(moved.body)).toBe(200);
      const rerouted = () =>
        t.hub.db.prepare(`SELECT 1 FROM events WHERE type = 'parcel.rerouted'`).pluck().get() === 1;
      await eventually(rerouted);
      // What the Lyon desk does see afterwards (every earlier delta has been sent by then): a
      // parcel of its own, one still coming to it (sent to any of its lockers), a door forced.
      const own = await orderParcel(t, { lockerId: 'town-1' });
      const coming = await orderParcel(t, { destinationLockerId: 'town-1' });
      const anyDoor = await t.api('POST', `/api/v1/parcels/${coming.parcel.id}/redirect`, { siteId: 'lyon' });
      expect(anyDoor.status, JSON.stringify(anyDoor.body)).toBe(200);
      town.openDoor(2, { force: true });
      await eventually(() => f.events().some((e) => e.type === 'door.opened'));
      const mine = (type: string, id: string) => f.events().some((e) => e.type === type && e.parcelId === id);
      expect(mine('parcel.reserved', own.parcel.id)).toBe(true);
      expect(mine('parcel.rerouted', coming.parcel.id)).toBe(true);
      const text = JSON.stringify(f.messages);
      expect(text.match(new RegExp(`${p.parcel.id}|city-1|paris|box-1|ferme`, 'g'))).toBeNull();
      // Nor the history of a desk that signs in after it.
      const later = feed(lyonToken());
      try {
        await later.snapshot();
        const history = JSON.stringify(later.messages);
        expect(history.match(new RegExp(`${p.parcel.id}|city-1|paris|box-1|ferme`, 'g'))).toBeNull();
      } finally {
        later.ws.close();
      }
    } finally {
      f.ws.close();
    }
  });

  it('does not show where another site’s parcel is when a driver scans its label at one of its lockers', async () => {
    const driver = (await t.api('POST', '/api/v1/drivers', { name: 'Yann', sites: ['ferme', 'lyon'] })).body;
    // A parcel that stays at ferme (no destination): Lyon has nothing to do with it.
    const p = await orderParcel(t, { sscc: sscc(9) });
    await useCode(box, p.depositCode, p.parcel.door);
    await eventually(
      async () => (await t.api('GET', `/api/v1/parcels/${p.parcel.id}`)).body.state === 'stored',
    );
    const f = feed(lyonToken());
    try {
      await f.snapshot();
      // The driver, at Lyon, scans a label that is not in the round: a `transit.flag` at town-1.
      town.pressCode(driver.code);
      await eventually(() => f.events().some((e) => e.type === 'driver.arrived'));
      town.scan(`]C100${sscc(9)}`);
      const flag = await eventually(() => f.events().find((e) => e.type === 'transit.flag'));
      // The flag is Lyon's (a label scanned there), but where that parcel lies is ferme's business.
      expect(flag.lockerId).toBe('town-1');
      expect(flag.data).toMatchObject({ reason: 'not_in_round' });
      const text = JSON.stringify(f.messages);
      expect(text.match(new RegExp(`box-1|ferme|${p.parcel.id}`, 'g'))).toBeNull();
    } finally {
      f.ws.close();
    }
  });

  it('does not show another site’s ids in any event at one of its lockers, whatever its type', async () => {
    // An event type of tomorrow, kept at Lyon's locker, whose data names ferme's locker, site and
    // a parcel of ferme's, nested or not: the two cases above were found one by one; the next
    // event type to name another site must not need a third.
    const p = await orderParcel(t, { sscc: sscc(11) });
    const ledger = new Ledger(t.hub.db, loadOrCreateKey(t.dataDir));
    const f = feed(lyonToken());
    try {
      await f.snapshot();
      t.hub.db.transaction(() =>
        ledger.append({
          ts: clock,
          type: 'compartment.something_new',
          actor: 'hub',
          lockerId: 'town-1',
          door: 2,
          data: {
            door: 2,
            note: 'kept',
            elsewhere: 'box-1',
            moved: { site: 'ferme', lockerId: 'box-1', parcelId: p.parcel.id, to: 'town-1' },
            list: ['town-1', 'box-1', 'lyon', 'ferme'],
          },
        }),
      )();
      const e = await eventually(() => f.events().find((x) => x.type === 'compartment.something_new'));
      expect(e.data).toEqual({
        door: 2,
        note: 'kept',
        moved: { to: 'town-1' },
        list: ['town-1', 'lyon'],
      });
    } finally {
      f.ws.close();
    }
    // What the snapshot's history holds is cut the same way.
    const later = feed(lyonToken());
    try {
      const snap = await later.snapshot();
      if (snap.type !== 'snapshot') throw new Error('unreachable');
      expect(JSON.stringify(snap.recent)).not.toMatch(new RegExp(`box-1|ferme|${p.parcel.id}`));
    } finally {
      later.ws.close();
    }
  });

  it('signs in without reading the whole ledger: its lockers’ history however old, its sites’ own recent', async () => {
    // Lyon's last events, then a long ledger elsewhere. Its history used to come from one OR over
    // the whole events table, newest first until 30 matched: 447 ms of the event loop at 1.5 M
    // events, each time a town desk (re)connected, every unlock held back meanwhile. It now comes
    // from its lockers' index (events_locker) however far back, and its sites' own site.* events
    // from the last 20,000 only: what the snapshot holds says which way it was read.
    const filler = t.hub.db.prepare(
      `INSERT INTO events (ts, type, actor, locker_id, door, parcel_id, data, prev_hash, hash)
       VALUES (?, ?, 'hub', ?, NULL, NULL, ?, '', '')`,
    );
    t.hub.db.transaction(() => {
      filler.run(clock, 'site.line_up', null, '{"site":"lyon"}');
      filler.run(clock, 'door.closed', 'town-1', '{"door":4}');
      for (let i = 0; i < 25_000; i++) filler.run(clock, 'door.closed', 'box-1', '{"door":3}');
    })();
    const f = feed(lyonToken());
    try {
      const snap = await f.snapshot();
      if (snap.type !== 'snapshot') throw new Error('unreachable');
      expect(snap.recent.some((e) => e.lockerId === 'town-1' && e.data.door === 4)).toBe(true);
      expect(snap.recent.some((e) => e.type === 'site.line_up' && e.data.site === 'lyon')).toBe(false);
      expect(snap.recent.every((e) => e.lockerId === 'town-1')).toBe(true);
    } finally {
      f.ws.close();
    }
  });
});
