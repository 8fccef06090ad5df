/**
 * The customer hears of their parcel: ready, soon at the end of its window, past it, sent
 * elsewhere; by e-mail to a real SMTP server and by SMS through an HTTP gateway, both started by
 * the test on loopback ports; in their language, times in the pickup site's zone; once each,
 * whatever is replayed or restarted, and again after a server that was down comes back.
 */
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SimLocker } from '../../cli/sim-locker.ts';
import { gs1CheckDigit, when } from '../../devices/index.ts';
import { eventually, startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';
import { startInbox, startSmsGateway } from '../helpers/inbox.ts';
import { orderParcel, releaseDoor, useCode } from '../helpers/parcels.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
let t: TestHub;
let box: SimLocker;
let clock: number;
let inbox: Awaited<ReturnType<typeof startInbox>>;
let gateway: Awaited<ReturnType<typeof startSmsGateway>>;
/** How the SMTP server answers RCPT TO, by address (accepted when absent). */
let refusals: Map<string, { code: number; message: string }>;

beforeEach(async () => {
  clock = Date.UTC(2026, 11, 7, 8, 0); // Monday 7 December, 09:00 in Paris
  refusals = new Map();
  inbox = await startInbox((address) => refusals.get(address));
  gateway = await startSmsGateway();
  t = await startTestHub({
    now: () => clock,
    manualTicks: true,
    publicUrl: 'https://casiers.example.fr',
    smtp: { url: inbox.url, from: 'Casiers <casiers@ferme.example>' },
    sms: { url: gateway.url, token: 'gateway-secret' },
  });
  box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
  expect((await t.api('PUT', '/api/v1/sites/ferme/settings', { timeZone: 'Europe/Paris' })).status).toBe(200);
  // Sites are named after their id when provisioned; this one has a name of its own.
  t.hub.db.prepare(`UPDATE sites SET name = 'Ferme du Bois Joli' WHERE id = 'ferme'`).run();
});
afterEach(async () => {
  await t.close();
  await inbox.close();
  await gateway.close();
});

const ada = { name: 'Ada', email: 'ada@example.org', phone: '+33612345678' };
const parcel = async (id: string) => (await t.api('GET', `/api/v1/parcels/${id}`)).body;
const ledger = (type: string) =>
  t.hub.db.prepare('SELECT data FROM events WHERE type = ? ORDER BY seq').pluck().all(type) as string[];
/** Ticks the hub until `n` e-mails and `m` SMS have arrived. */
const received = (n: number, m: number) =>
  t.ticked(() => inbox.mails.length >= n && gateway.sms.length >= m, 5000, `${n} e-mails and ${m} SMS`);

describe('notices to customers', () => {
  it('tell a French recipient once that their parcel is ready, by e-mail and SMS, with their page and the end of their window in the site’s zone', async () => {
    const p = await orderParcel(t, { recipient: { ...ada, language: 'fr' }, pickupWindowHours: 48 });
    await useCode(box, p.depositCode, p.parcel.door);
    await received(1, 1);
    const stored = await parcel(p.parcel.id);
    const link = t.hub.links.url(p.parcel.id);
    expect(link).toMatch(/^https:\/\/casiers\.example\.fr\/c\/[A-Za-z0-9_-]{22}$/);
    // 09:00 in Paris on Monday, plus 48 h.
    const end = when(stored.pickupExpiresAt, 'fr', 'Europe/Paris');
    expect(end).toBe('mer. 9 déc., 09:00');

    const [mail] = inbox.mails;
    expect(mail?.to).toBe('ada@example.org');
    expect(mail?.subject).toBe('Votre colis est prêt à Ferme du Bois Joli');
    expect(mail?.text).toContain(`Bonjour Ada,`);
    expect(mail?.text).toContain(`porte ${p.parcel.door}. Retirez-le avant le ${end}`);
    expect(mail?.text).toContain(link);
    expect(mail?.html).toContain(`<a href="${link}">`);
    const [sms] = gateway.sms;
    expect(sms).toMatchObject({ to: '+33612345678', authorization: 'Bearer gateway-secret' });
    expect(sms?.text).toBe(
      `Ferme du Bois Joli : votre colis est pret, porte ${p.parcel.door}. A retirer avant le ${end}. ${link}`,
    );
    expect(sms?.text.length).toBeLessThanOrEqual(160);

    // The platform sees that they went out, the ledger never sees where to.
    const sent = ledger('parcel.notice_sent').map((d) => JSON.parse(d));
    expect(sent).toEqual([
      expect.objectContaining({ notice: 'ready', channel: expect.any(String), language: 'fr', attempts: 1 }),
      expect.objectContaining({ notice: 'ready' }),
    ]);
    expect(sent.map((s) => s.channel).sort()).toEqual(['email', 'sms']);
    expect(JSON.stringify(t.hub.db.prepare('SELECT data FROM events').pluck().all())).not.toMatch(
      /ada@example|33612345678/,
    );
    const hooks = await t.api('GET', `/api/v1/parcels/${p.parcel.id}`);
    expect(hooks.body.timeline.map((e: { type: string }) => e.type)).toContain('parcel.notice_sent');

    // The ledger read again from its start (a cursor lost), and a restart: nothing goes twice.
    t.hub.db.prepare(`UPDATE cursors SET seq = 0 WHERE name = 'customer-notices'`).run();
    clock += MIN;
    await t.hub.tick();
    expect(t.hub.db.prepare(`SELECT seq FROM cursors WHERE name = 'customer-notices'`).pluck().get()).toBe(
      t.hub.db.prepare('SELECT max(seq) FROM events').pluck().get(),
    );
    await t.restart();
    clock += MIN;
    await t.hub.tick();
    await t.hub.tick();
    expect(inbox.mails).toHaveLength(1);
    expect(gateway.requests()).toBe(1);
  });

  it('remind a day before the window ends, in the site’s language, and tell when it ended', async () => {
    await t.api('PUT', '/api/v1/sites/ferme/settings', { language: 'fr' });
    const p = await orderParcel(t, {
      recipient: { name: 'Zoé', email: 'zoe@example.org' },
      pickupWindowHours: 72,
    });
    await useCode(box, p.depositCode, p.parcel.door);
    await received(1, 0);
    expect(inbox.mails[0]?.subject).toBe('Votre colis est prêt à Ferme du Bois Joli');
    const end = (await parcel(p.parcel.id)).pickupExpiresAt as number;

    clock = end - 24 * HOUR - MIN;
    await t.hub.tick();
    await t.hub.tick();
    expect(ledger('parcel.pickup_reminder')).toHaveLength(0);
    expect(inbox.mails).toHaveLength(1);

    clock = end - 24 * HOUR;
    await received(2, 0);
    const reminder = inbox.mails[1];
    expect(reminder?.subject).toBe(
      `Rappel : votre colis vous attend à Ferme du Bois Joli jusqu’au ${when(end, 'fr', 'Europe/Paris')}`,
    );
    expect(reminder?.text).toContain('il vous reste 24 heures pour le retirer');
    clock += HOUR;
    await t.hub.tick();
    await t.hub.tick();
    expect(inbox.mails).toHaveLength(2);

    clock = end;
    await received(3, 0);
    expect((await parcel(p.parcel.id)).state).toBe('expired');
    expect(inbox.mails[2]?.subject).toBe('Votre colis n’a pas été retiré à Ferme du Bois Joli');
    expect(inbox.mails[2]?.text).toContain('votre code n’ouvre plus la porte');
    expect(gateway.requests()).toBe(0); // Zoé gave no phone number
  });

  it('reach a customer once their mail server and SMS gateway answer again; a refusal for good is not retried', async () => {
    refusals.set('ada@example.org', { code: 451, message: 'greylisted, try again later' });
    gateway.statuses.push(500);
    const p = await orderParcel(t, { recipient: { ...ada, language: 'en' } });
    await useCode(box, p.depositCode, p.parcel.door);
    await t.ticked(() => gateway.requests() === 1, 5000, 'a first try at the gateway');
    await t.ticked(
      () =>
        t.hub.db
          .prepare(`SELECT count(*) FROM customer_notices WHERE state = 'pending' AND attempts = 1`)
          .pluck()
          .get() === 2,
      5000,
      'both tried once',
    );
    expect(inbox.mails).toHaveLength(0);
    // Tried again a minute on: the server takes it, the gateway too.
    refusals.clear();
    clock += MIN;
    await received(1, 1);
    expect(inbox.mails[0]?.subject).toBe('Your parcel is ready at Ferme du Bois Joli');
    expect(gateway.requests()).toBe(2);
    clock += HOUR;
    await t.hub.tick();
    await t.hub.tick();
    expect(inbox.mails).toHaveLength(1);
    expect(gateway.sms).toHaveLength(1);
    expect(ledger('parcel.notice_sent').map((d) => JSON.parse(d).attempts)).toEqual([2, 2]);

    // No such mailbox (550), a number the gateway will never take (400): recorded, not retried.
    refusals.set('bob@example.org', { code: 550, message: 'no such user bob@example.org' });
    gateway.statuses.push(400);
    const q = await orderParcel(t, {
      recipient: { name: 'Bob', email: 'bob@example.org', phone: '+33600000000' },
    });
    await useCode(box, q.depositCode, q.parcel.door);
    await t.ticked(() => ledger('parcel.notice_failed').length === 2, 5000, 'two failures');
    const failed = ledger('parcel.notice_failed').map((d) => JSON.parse(d));
    expect(failed.map((f) => f.channel).sort()).toEqual(['email', 'sms']);
    expect(failed.find((f) => f.channel === 'sms').error).toBe('the SMS gateway answered 400');
    expect(JSON.stringify(failed)).not.toContain('bob@example.org');
    clock += 2 * HOUR;
    await t.hub.tick();
    await t.hub.tick();
    expect(gateway.requests()).toBe(3);
    expect(inbox.mails).toHaveLength(1);
  });

  it('say nothing of a parcel held for the cold chain until an operator releases it', async () => {
    const p = await orderParcel(t, { recipient: ada });
    expect(p.parcel.door).toBe(1); // watched by t1
    await releaseDoor(box, p.depositCode, 1);
    box.openDoor(1); // the goods go in; the producer is slow to close, the compartment warm
    let readings = 0;
    for (let m = 0; m < 12; m++) {
      clock += MIN;
      await box.telemetry([{ sensor: 't1', c: 12 }]);
      readings++;
      await t.ticked(() => t.hub.db.prepare('SELECT count(*) FROM readings').pluck().get() === readings);
    }
    expect((await parcel(p.parcel.id)).state).toBe('quarantined');
    box.closeDoor(1);
    await t.ticked(async () => (await parcel(p.parcel.id)).storedAt !== null, 5000, 'the deposit recorded');
    await t.hub.tick();
    await t.hub.tick();
    expect(ledger('parcel.stored')).toHaveLength(1);
    expect(inbox.mails).toHaveLength(0);
    expect(gateway.requests()).toBe(0);

    const res = await t.api('POST', `/api/v1/parcels/${p.parcel.id}/release`, { reason: 'probe checked' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    await received(1, 1);
    expect(inbox.mails[0]?.subject).toBe('Your parcel is ready at Ferme du Bois Joli');
  });

  it('tell that a travelling parcel is ready only once it is at its destination', async () => {
    const town = await t.locker({ site: 'lyon', locker: 'town-1' }, 'town-locker-16');
    t.hub.db.prepare(`UPDATE sites SET name = 'Halle de Villeurbanne' WHERE id = 'lyon'`).run();
    await t.api('PUT', '/api/v1/sites/lyon/settings', { language: 'fr', timeZone: 'Europe/Paris' });
    const driver = (await t.api('POST', '/api/v1/drivers', { name: 'Yann', sites: ['ferme', 'lyon'] })).body;
    const body = '3761234567' + '0000042';
    const sscc = `${body}${gs1CheckDigit(body)}`;
    const p = await orderParcel(t, { recipient: ada, destinationLockerId: 'town-1', sscc });
    await useCode(box, p.depositCode, p.parcel.door);
    await t.ticked(async () => (await parcel(p.parcel.id)).state === 'stored');
    // Read past the deposit: nothing said.
    await t.ticked(
      () =>
        (t.hub.db
          .prepare(`SELECT seq FROM cursors WHERE name = 'customer-notices'`)
          .pluck()
          .get() as number) >=
        (t.hub.db
          .prepare(`SELECT max(seq) FROM events WHERE type = 'parcel.stored'`)
          .pluck()
          .get() as number),
    );
    expect(inbox.mails).toHaveLength(0);
    expect(gateway.requests()).toBe(0);

    const unlocked = waitFor<[number]>(box, 'unlocked');
    await t.api('POST', '/api/v1/round/arrive', { lockerId: 'box-1' }, driver.token);
    await unlocked;
    box.openDoor(p.parcel.door);
    await t.api('POST', '/api/v1/round/scan', { lockerId: 'box-1', data: `(00)${sscc}` }, driver.token);
    await eventually(
      () =>
        t.hub.db.prepare(`SELECT count(*) FROM events WHERE type = 'transit.scanned'`).pluck().get() === 1,
    );
    box.closeDoor(p.parcel.door);
    await t.ticked(async () => (await parcel(p.parcel.id)).state === 'in_transit');
    const delivered = waitFor<[number]>(town, 'unlocked');
    await t.api('POST', '/api/v1/round/scan', { lockerId: 'town-1', data: `]C100${sscc}` }, driver.token);
    const [door] = await delivered;
    town.openDoor(door);
    town.closeDoor(door);
    await received(1, 1);
    expect(inbox.mails[0]?.subject).toBe('Votre colis est prêt à Halle de Villeurbanne');
    expect(inbox.mails[0]?.text).toContain(`casier town-1, porte ${door}`);
    expect(gateway.sms[0]?.text).toContain(`porte ${door}`);
    expect(inbox.mails).toHaveLength(1);
  });

  it('tell a customer once that their parcel will wait for them elsewhere', async () => {
    await t.locker({ site: 'lyon', locker: 'town-1' }, 'town-locker-16');
    t.hub.db.prepare(`UPDATE sites SET name = 'Halle de Villeurbanne' WHERE id = 'lyon'`).run();
    const p = await orderParcel(t, { recipient: { ...ada, language: 'fr' } });
    await useCode(box, p.depositCode, p.parcel.door);
    await received(1, 1);
    const res = await t.api(
      'POST',
      `/api/v1/parcels/${p.parcel.id}/redirect`,
      { lockerId: 'town-1' },
      t.integration,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    await received(2, 2);
    expect(inbox.mails[1]?.subject).toBe('Votre colis ira à Halle de Villeurbanne');
    expect(inbox.mails[1]?.text).toContain('au lieu de Ferme du Bois Joli');
    expect(gateway.sms[1]?.text).toBe(
      `Votre colis ira à Halle de Villeurbanne au lieu de Ferme du Bois Joli. Meme code. ${t.hub.links.url(p.parcel.id)}`,
    );
    clock += HOUR;
    await t.hub.tick();
    await t.hub.tick();
    expect(inbox.mails).toHaveLength(2);
    expect(ledger('parcel.notice_sent').map((d) => JSON.parse(d).notice)).toEqual([
      'ready',
      'ready',
      'rerouted',
      'rerouted',
    ]);
  });

  it('remind again before the new end once the window is extended after the first reminder', async () => {
    const p = await orderParcel(t, {
      recipient: { name: 'Ada', email: 'ada@example.org' },
      pickupWindowHours: 48,
    });
    await useCode(box, p.depositCode, p.parcel.door);
    await received(1, 0);
    const end = (await parcel(p.parcel.id)).pickupExpiresAt as number;
    clock = end - 24 * HOUR;
    await received(2, 0);
    expect(inbox.mails[1]?.subject).toBe(
      `Reminder: your parcel waits at Ferme du Bois Joli until ${when(end, 'en', 'Europe/Paris')}`,
    );
    const extended = await t.api(
      'POST',
      `/api/v1/parcels/${p.parcel.id}/extend`,
      { hours: 48 },
      t.integration,
    );
    expect(extended.status, JSON.stringify(extended.body)).toBe(200);
    const later = end + 48 * HOUR;
    expect(extended.body.pickupExpiresAt).toBe(later);
    // Not before a day ahead of the new end...
    clock = later - 24 * HOUR - MIN;
    await t.hub.tick();
    await t.hub.tick();
    expect(inbox.mails).toHaveLength(2);
    // ...then, about the new end.
    clock = later - 24 * HOUR;
    await received(3, 0);
    expect(inbox.mails[2]?.subject).toBe(
      `Reminder: your parcel waits at Ferme du Bois Joli until ${when(later, 'en', 'Europe/Paris')}`,
    );
    expect(inbox.mails[2]?.text).toContain('24 hours left to collect it');
  });

  it('reach the customer by SMS while their mail server hangs', async () => {
    // A server that takes the connection and never greets: nodemailer waits out its timeout.
    const sockets: Socket[] = [];
    const mute = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
    await t.close();
    t = await startTestHub({
      now: () => clock,
      manualTicks: true,
      smtp: {
        url: `smtp://127.0.0.1:${(mute.address() as AddressInfo).port}`,
        from: 'casiers@ferme.example',
      },
      sms: { url: gateway.url },
    });
    box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
    // Rounds started and not awaited: the one stuck on the mail server must not hold the others.
    const rounds: Array<Promise<void>> = [];
    const spin = async () => {
      rounds.push(t.hub.tick());
      await new Promise((r) => setTimeout(r, 20)); // a few turns of the loop for the round to start
    };
    const first = await orderParcel(t, { recipient: { name: 'Ada', email: 'ada@example.org' } });
    await useCode(box, first.depositCode, first.parcel.door);
    await eventually(
      async () => {
        await spin();
        return sockets.length === 1;
      },
      5000,
      'the mail waiting for a greeting',
    );
    const second = await orderParcel(t, { recipient: { name: 'Bob', phone: '+33600000000' } });
    await useCode(box, second.depositCode, second.parcel.door);
    await eventually(
      async () => {
        await spin();
        return gateway.sms.length === 1;
      },
      5000,
      'the SMS sent meanwhile',
    );
    expect(gateway.sms[0]).toMatchObject({ to: '+33600000000', authorization: undefined });
    // The mail server drops the line: the mail is for a later round.
    for (const s of sockets) s.destroy();
    await Promise.all(rounds);
    mute.close();
    expect(t.hub.db.prepare(`SELECT state FROM customer_notices WHERE channel = 'email'`).pluck().get()).toBe(
      'pending',
    );
  });
});
