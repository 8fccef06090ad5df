/**
 * Every word the keypad said was English, at French farms. A site now has a language (the hub's
 * by default): its keypads speak it online, to customers and drivers, and offline, from the table
 * the hub last gave the cabinet.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SimLocker } from '../../cli/sim-locker.ts';
import { eventually, startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';
import { orderParcel } from '../helpers/parcels.ts';

let t: TestHub;
afterEach(() => t?.close());

/** What the cabinet's display shows after `code` is typed. */
async function shown(locker: SimLocker, code: string): Promise<string> {
  const display = waitFor<[string]>(locker.board, 'display', () => true, 8000);
  locker.board.typeCode(code);
  return (await display)[0];
}

describe("a site's language", () => {
  it('is what its keypad says, online and offline, set by an operator and audited', async () => {
    t = await startTestHub();
    const box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
    expect(await shown(box, '11111111')).toBe('Invalid code');

    const set = await t.api('PUT', '/api/v1/sites/ferme/settings', { language: 'fr' });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body).toEqual({
      siteId: 'ferme',
      driverDoors: 'sequential',
      language: 'fr',
      timeZone: null,
      extend: { hours: 24, times: 1 },
    });
    expect((await t.api('PUT', '/api/v1/sites/ferme/settings', { language: 'de' })).status).toBe(400);
    expect((await t.api('PUT', '/api/v1/sites/ferme/settings', {})).status).toBe(400);
    const events = (await t.api('GET', '/api/v1/events?type=site.settings_changed')).body.events;
    expect(events[0].data).toEqual({ siteId: 'ferme', language: 'fr' });

    expect(await shown(box, '11111111')).toBe('Code invalide');
    const p = await orderParcel(t, { lockerId: 'box-1' });
    expect(await shown(box, p.pickupCode)).toBe('Code pas encore valable');
    const released = waitFor<[number]>(box.board, 'unlocked', (d) => d === p.parcel.door, 8000);
    expect(await shown(box, p.depositCode)).toBe(`Porte ${p.parcel.door} ouverte`);
    await released;
    box.board.openDoor(p.parcel.door);
    box.board.closeDoor(p.parcel.door);
    await eventually(
      async () => (await t.api('GET', `/api/v1/parcels/${p.parcel.id}`)).body.state === 'stored',
    );

    // Offline, the bridge decides alone, in the language of the table the hub gave it.
    const ready = () => {
      const table = box.outbox.codeTable();
      return table?.language === 'fr' && table.entries.some((e) => e.kind === 'pickup' && !e.after);
    };
    await eventually(ready, 5000, 'a table in French, with the pickup code live');
    await t.hub.stop();
    await eventually(() => !box.connected, 5000, 'the bridge offline');
    expect(await shown(box, '22222222')).toBe('Code invalide');
    expect(await shown(box, p.pickupCode)).toBe(`Porte ${p.parcel.door} ouverte`);
  });

  it('is the hub’s where the site has none, and a driver hears it with its plurals', async () => {
    t = await startTestHub({ language: 'fr' });
    const box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
    await t.locker({ site: 'lyon', locker: 'town-1' }, 'town-locker-16');
    const driver = (await t.api('POST', '/api/v1/drivers', { name: 'Yann', sites: ['ferme', 'lyon'] })).body;
    expect(await shown(box, driver.code)).toBe('Rien pour vous ici');
    expect(await shown(box, '11111111')).toBe('Code invalide');
    // A site may keep English on a French hub.
    await t.api('PUT', '/api/v1/sites/ferme/settings', { language: 'en' });
    expect(await shown(box, '11111111')).toBe('Invalid code');
    await t.api('PUT', '/api/v1/sites/ferme/settings', { language: null });
    expect(await shown(box, '11111111')).toBe('Code invalide');
  });
});

describe("a site's time zone and pickup policy", () => {
  it('are set by an operator, checked, audited, and shown with the site', async () => {
    t = await startTestHub({ timeZone: 'Europe/Paris' });
    await t.locker({ site: 'lyon', locker: 'town-1' }, 'town-locker-16');
    const site = async () =>
      (await t.api('GET', '/api/v1/sites')).body.sites.find((s: { id: string }) => s.id === 'lyon');
    expect(await site()).toMatchObject({ language: 'en', timeZone: 'Europe/Paris' });

    const bad = await t.api('PUT', '/api/v1/sites/lyon/settings', { timeZone: 'Europe/Lyon' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('not an IANA time zone');
    const tooLong = { extend: { hours: 24 * 8, times: 1 } };
    expect((await t.api('PUT', '/api/v1/sites/lyon/settings', tooLong)).status).toBe(400);

    const set = await t.api('PUT', '/api/v1/sites/lyon/settings', {
      timeZone: 'America/Cayenne',
      extend: { hours: 48, times: 2 },
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body).toMatchObject({ timeZone: 'America/Cayenne', extend: { hours: 48, times: 2 } });
    expect((await t.api('GET', '/api/v1/sites/lyon/settings')).body).toEqual(set.body);
    expect(await site()).toMatchObject({ timeZone: 'America/Cayenne' });
    const events = (await t.api('GET', '/api/v1/events?type=site.settings_changed')).body.events;
    expect(events[0].data).toEqual({
      siteId: 'lyon',
      timeZone: 'America/Cayenne',
      extend: { hours: 48, times: 2 },
    });

    await t.api('PUT', '/api/v1/sites/lyon/settings', { timeZone: null });
    expect(await site()).toMatchObject({ timeZone: 'Europe/Paris' });
  });
});
