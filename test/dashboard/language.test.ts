/**
 * The dashboard in its operator's language, with each site's times in that site's zone: a French
 * farm box (Europe/Paris) and an English town locker (America/New_York), watched from a browser set
 * to French in Tokyo, whose own clock is neither. French words everywhere (no English catalogue
 * text left on the main views and dialogs), the site's hour on its events, the choice of English
 * kept across a reload, a door's goods sensor shown, a parcel's codes and custody in words, the
 * keyboard's focus in blue, the header on two rows at most on a phone. Headless Chromium against a
 * real hub, its clock held still.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimLocker } from '../../cli/sim-locker.ts';
import { CATALOGUE, type MessageKey } from '../../devices/i18n.ts';
import { findProfile, type LockerProfile } from '../../devices/index.ts';
import { addProfile } from '../../hub/domain/profiles.ts';
import { openStore } from '../../hub/store.ts';
import { launchBrowser, screenshot } from '../helpers/browser.ts';
import { eventually, startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';

/** Saturday 5 December 2026, 13:05 UTC: 14:05 in Paris, 08:05 in New York, 22:05 in Tokyo. */
const NOW = Date.UTC(2026, 11, 5, 13, 5);
const MIN = 60_000;
/** The hub's clock: still, until the last test warms a fridge. */
let now = NOW;
let t: TestHub;
let box: SimLocker;
let browser: Browser;
let base: string;
const contexts: BrowserContext[] = [];
const errors: string[] = [];
let fr: Page;
let stored = '';
let storedDoor = 0;
let townParcel = '';

/** The texts of the dashboard's catalogue that a French page must not show: English, and not French too. */
const ENGLISH = Object.entries(CATALOGUE.en)
  .filter(([k, v]) => k.startsWith('dashboard.') && !v.includes('{') && v !== CATALOGUE.fr[k as MessageKey])
  .map(([, v]) => v.trim());
/** English words of the dashboard as it was, wherever they appear in a text (arguments filled in). */
const WORDS =
  /\b(Door|door|Parcels?|Alarms?|online|offline|Sign out|ago|Loading|Acknowledge|since|occupied|Temperature|Sensor|Search|Created|Recipient|Cabinet|Closed|Free|readings?|Goods|Empty|Latest activity|Live|never|Custody|Timeline|Deposit by|Pickup by|unlocked|Why must|collect|take the goods|warming|sensor|raised|acknowledged)\b/;

/** Every text a person reads or hears on the page now that is English: text, labels, titles. */
function englishOn(page: Page): Promise<string[]> {
  return page.evaluate(
    ({ english, words }) => {
      const texts: string[] = [document.title];
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        // The language picker names English in English, and the hub's own words are marked English.
        if (n.parentElement?.closest('select.language, [lang="en"]')) continue;
        texts.push(n.textContent ?? '');
      }
      for (const el of document.querySelectorAll('[aria-label], [title], [placeholder]'))
        for (const a of ['aria-label', 'title', 'placeholder']) texts.push(el.getAttribute(a) ?? '');
      const re = new RegExp(words);
      return texts.map((s) => s.trim()).filter((s) => s && (english.includes(s) || re.test(s)));
    },
    { english: ENGLISH, words: WORDS.source },
  );
}

async function page(options: { locale: string; width?: number }): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: 900 },
    locale: options.locale,
    timezoneId: 'Asia/Tokyo',
  });
  contexts.push(context);
  const p = await context.newPage();
  p.on('pageerror', (e) => errors.push(e.message));
  return p;
}

async function signIn(p: Page, label: string, submit: string): Promise<void> {
  await p.goto(base);
  await p.getByLabel(label).fill(t.operator);
  await p.getByRole('button', { name: submit }).click();
  await p.locator('[data-link="live"]').waitFor({ timeout: 10_000 });
}

/** The hour and minute a person at `timeZone` read on their clock at `ms`. */
const clock = (ms: number, timeZone: string) =>
  new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone }).format(
    ms,
  );

beforeAll(async () => {
  // The hub speaks French in Paris, as the demo does; the town locker's site says otherwise.
  t = await startTestHub({ now: () => now, flushMs: 10, language: 'fr', timeZone: 'Europe/Paris' });
  base = `http://127.0.0.1:${t.hub.httpPort}`;
  box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
  await t.locker({ site: 'ville', locker: 'town-1' });
  // A cabinet whose doors sense the goods, as `casier device add --profile ./….json` declares it;
  // not started: what its item sensors last said is in the store (hub/domain/compartments.ts).
  const town = findProfile('town-locker-16') as LockerProfile;
  const s = openStore(t.dataDir);
  addProfile(
    s.db,
    s.ledger,
    {
      ...town,
      name: 'town-locker-16-ir',
      compartments: town.compartments.map((c) => ({ ...c, presence: true })),
    },
    'test',
    NOW,
  );
  s.provisioning.addDevice({ site: 'ferme', locker: 'ir-1' }, 'town-locker-16-ir', 'test');
  s.db.close();
  const present = t.hub.db.prepare('UPDATE compartments SET present = ? WHERE locker_id = ? AND door = ?');
  present.run(1, 'ir-1', 1);
  present.run(0, 'ir-1', 2);

  for (const [site, settings] of [
    ['ferme', { language: 'fr', timeZone: 'Europe/Paris' }],
    ['ville', { language: 'en', timeZone: 'America/New_York' }],
  ] as const)
    expect((await t.api('PUT', `/api/v1/sites/${site}/settings`, settings)).status).toBe(200);

  // A parcel deposited at the farm box; another waiting at the town locker.
  const created = await t.api(
    'POST',
    '/api/v1/parcels',
    { lockerId: 'box-1', size: 'M', temperatureClass: 'chilled', recipient: { name: 'Jeanne Dupont' } },
    t.integration,
  );
  stored = created.body.parcel.id;
  storedDoor = created.body.parcel.door;
  const unlocked = waitFor(box, 'unlocked');
  box.pressCode(created.body.depositCode);
  await unlocked;
  box.openDoor(created.body.parcel.door);
  box.closeDoor(created.body.parcel.door);
  await eventually(async () => (await t.api('GET', `/api/v1/parcels/${stored}`)).body.state === 'stored');
  townParcel = (
    await t.api(
      'POST',
      '/api/v1/parcels',
      { lockerId: 'town-1', size: 'S', temperatureClass: 'ambient', recipient: { name: 'Ann Lee' } },
      t.integration,
    )
  ).body.parcel.id;

  browser = await launchBrowser();
  fr = await page({ locale: 'fr-FR' });
  await signIn(fr, 'Jeton d’exploitant', 'Se connecter');
});

afterAll(async () => {
  for (const c of contexts) await c.close();
  await browser?.close();
  await t?.close();
});

describe('the dashboard in the operator language', () => {
  it('speaks French to a French browser, and gives each event the time of its site', async () => {
    expect(await fr.locator('html').getAttribute('lang')).toBe('fr');
    await fr.getByRole('heading', { name: /Alarmes en cours/ }).waitFor();
    await fr.getByRole('navigation').getByRole('link', { name: 'Colis' }).waitFor();
    await fr.locator('[data-locker="box-1"]', { hasText: 'en ligne' }).waitFor();

    // The farm's deposit at 14:05 Paris time, the town's reservation at 08:05 New York time: the
    // browser's own clock (Tokyo, 22:05) is neither, so each says its zone.
    const events = (await t.api('GET', '/api/v1/events?limit=500')).body.events as Array<{
      seq: number;
      type: string;
      parcelId: string | null;
    }>;
    const deposit = events.find((e) => e.type === 'parcel.stored' && e.parcelId === stored);
    const reserved = events.find((e) => e.type === 'parcel.reserved' && e.parcelId === townParcel);
    const farm = fr.locator(`.activity li[data-seq="${deposit?.seq}"]`);
    const town = fr.locator(`.activity li[data-seq="${reserved?.seq}"]`);
    await farm.waitFor();
    expect(clock(NOW, 'Europe/Paris')).toBe('14:05');
    expect(await farm.locator('time').textContent()).toMatch(/^14:05 (UTC\+1|CET|HNEC)$/);
    expect(await farm.textContent()).toContain('Déposé');
    expect(await town.locator('time').textContent()).toMatch(/^08:05 /);
    expect(await fr.locator('.site', { has: fr.locator('#site-ville') }).textContent()).toContain(
      'Heures du fuseau America/New_York',
    );
    await screenshot(fr, 'fr-overview');
  });

  it('leaves no English on the French views and dialogs', async () => {
    const seen: Record<string, string[]> = {};
    const look = async (where: string) => {
      seen[where] = await englishOn(fr);
    };
    await look('overview');
    await fr.goto(`${base}/#/lockers/box-1/${storedDoor}`);
    await fr.getByRole('heading', { name: `Porte ${storedDoor}` }).waitFor();
    await fr.locator('.chart-box canvas').waitFor();
    await look('cabinet and door');
    // The remote opening, each step, then its outcome: the operator takes the goods out.
    await fr.getByRole('button', { name: `Ouvrir la porte ${storedDoor}…` }).click();
    await fr
      .getByLabel('Pourquoi faut-il l’ouvrir ? (inscrit au journal d’audit)')
      .fill('Colis abîmé, repris');
    await fr.getByLabel(/Sortir la marchandise/).check();
    await look('remote open: reason');
    await fr.getByRole('button', { name: 'Continuer' }).click();
    await look('remote open: confirm');
    await fr.getByRole('button', { name: `Ouvrir la porte ${storedDoor} maintenant` }).click();
    await fr.locator('[data-command-state="done"]').waitFor({ timeout: 5000 });
    await look('remote open: done');
    await fr.getByRole('dialog').getByRole('button', { name: 'Fermer' }).click();
    box.openDoor(storedDoor);
    box.closeDoor(storedDoor);
    await eventually(async () => (await t.api('GET', `/api/v1/parcels/${stored}`)).body.state === 'returned');

    await fr.goto(`${base}/#/alarms`);
    await fr.getByRole('heading', { name: 'Alarmes' }).waitFor();
    await look('alarms');
    await fr.goto(`${base}/#/parcels`);
    await fr.locator(`tr[data-parcel="${stored}"]`).waitFor();
    await look('parcels');
    await fr.goto(`${base}/#/parcels/${stored}`);
    await fr.getByRole('heading', { name: 'Relevé de température' }).waitFor();
    await fr.locator('.custody li[data-type="parcel.returned"]').waitFor();
    await look('parcel');
    await screenshot(fr, 'fr-parcel');
    // The hub's error said by its code in French, its own English message after it, marked so.
    await fr.goto(`${base}/#/parcels/P-NOTHING`);
    await fr
      .getByRole('alert')
      .filter({ hasText: /^Colis inconnu\. \(.+\)$/ })
      .waitFor();
    expect(await fr.getByRole('alert').locator('[lang="en"]').count()).toBe(1);
    await look('unknown parcel');
    expect(seen).toEqual(Object.fromEntries(Object.keys(seen).map((k) => [k, []])));
    expect(errors).toEqual([]);
  });

  it("says a parcel's codes and custody in words: an operator's retrieval is not a driver's return", async () => {
    await fr.goto(`${base}/#/parcels/${stored}`);
    // Deposit code used at the deposit; the pickup code revoked when the goods were taken out.
    await fr.locator('tr[data-code="deposit"][data-state="used"]', { hasText: 'utilisé' }).waitFor();
    await fr.locator('tr[data-code="pickup"][data-state="revoked"]', { hasText: 'révoqué' }).waitFor();
    expect(await fr.locator('tr[data-code="deposit"]').textContent()).toContain('utilisé sam. 5 déc., 14:05');
    expect(await fr.locator('.custody li[data-type="parcel.returned"]').textContent()).toContain(
      'Sorti du casier par un exploitant',
    );
    // In English, the same line: not "Taken back out of the locker", which read as a return.
    await fr.getByLabel('Langue').selectOption('en');
    const line = fr.locator('.custody li[data-type="parcel.returned"]');
    await line.filter({ hasText: 'Taken out of the locker by an operator' }).waitFor();
    await fr.getByLabel('Language').selectOption('fr');
    await fr.locator('html[lang="fr"]').waitFor();
  });

  it("shows what a door's goods sensor says, where the door has one", async () => {
    await fr.goto(`${base}/#/lockers/ir-1/1`);
    await fr.locator('[data-door="1"][data-goods="inside"]', { hasText: 'Marchandise dedans' }).waitFor();
    await fr.locator('[data-door="2"][data-goods="empty"]', { hasText: 'Vide' }).waitFor();
    await fr.locator('[data-door="3"][data-goods="unknown"]').waitFor();
    expect(await fr.locator('.panel dd[data-goods="inside"]').textContent()).toBe(
      'marchandise à l’intérieur',
    );
    expect(await fr.locator('[data-door="2"]').getAttribute('aria-label')).toContain('rien à l’intérieur');
    // A cabinet without item sensors says nothing of the goods.
    await fr.goto(`${base}/#/lockers/box-1`);
    await fr.locator('[data-door="1"]').waitFor();
    expect(await fr.locator('[data-goods]').count()).toBe(0);
  });

  it('keeps the operator choice of English across a reload, whatever the browser says', async () => {
    await fr.goto(`${base}/#/`);
    await fr.getByLabel('Langue').selectOption('en');
    await fr.getByRole('heading', { name: /Open alarms/ }).waitFor();
    expect(await fr.locator('html').getAttribute('lang')).toBe('en');
    await fr.reload();
    await fr.getByRole('heading', { name: /Open alarms/ }).waitFor();
    expect(await fr.locator('html').getAttribute('lang')).toBe('en');
    expect(await fr.title()).toBe('casier — operations');
    // Times stay the site's: the farm's deposit at 14:05 in Paris.
    await fr
      .locator('.activity li', { hasText: 'Deposited' })
      .first()
      .locator('time', { hasText: /^14:05 / })
      .waitFor();
    await fr.getByLabel('Language').selectOption('fr');
    await fr.getByRole('heading', { name: /Alarmes en cours/ }).waitFor();
  });

  it("speaks the hub's language to a browser that is not French, until the operator chooses", async () => {
    const other = await page({ locale: 'de-DE' });
    // Before signing in the hub has not said its language: English, the default.
    await signIn(other, 'Operator token', 'Sign in');
    await other.getByRole('heading', { name: /Alarmes en cours/ }).waitFor();
    expect(await other.locator('html').getAttribute('lang')).toBe('fr');
    await other.getByLabel('Langue').selectOption('en');
    await other.getByRole('heading', { name: /Open alarms/ }).waitFor();
  });

  it('rings the focused control in the selection blue, not the warning amber', async () => {
    await fr.goto(`${base}/#/`);
    await fr.getByRole('heading', { name: /Alarmes en cours/ }).waitFor();
    const colours: string[] = [];
    // A control on the dark header and one on the white page.
    await fr.locator('header .brand').focus();
    await fr.keyboard.press('Tab');
    colours.push(await fr.evaluate(() => getComputedStyle(document.activeElement as Element).outlineColor));
    await fr.locator('.card-link').first().focus();
    await fr.keyboard.press('Shift+Tab');
    await fr.keyboard.press('Tab');
    colours.push(await fr.evaluate(() => getComputedStyle(document.activeElement as Element).outlineColor));
    for (const c of colours) {
      const [r, g, b] = (c.match(/\d+/g) ?? []).map(Number) as [number, number, number];
      // Blue: the blue channel leads; amber (#ffbf00) has none.
      expect(b, c).toBeGreaterThan(r + 60);
      expect(b, c).toBeGreaterThan(g);
    }
  });

  it('keeps the header to two rows on a 390 px phone, in French', async () => {
    const phone = await page({ locale: 'fr-FR', width: 390 });
    await signIn(phone, 'Jeton d’exploitant', 'Se connecter');
    await phone.getByRole('heading', { name: /Alarmes en cours/ }).waitFor();
    const tops = await phone.evaluate(() => {
      const header = document.querySelector('header.top') as HTMLElement;
      const parts = [...header.querySelectorAll('.brand, nav a, .pill, select, button')];
      return parts.map((p) =>
        Math.round(p.getBoundingClientRect().top + p.getBoundingClientRect().height / 2),
      );
    });
    // Rows: centres more than 15 px apart.
    const rows = [...tops]
      .sort((x, y) => x - y)
      .filter((y, i, all) => i === 0 || y - (all[i - 1] as number) > 15);
    await screenshot(phone, 'fr-phone-header');
    expect(rows.length, `centres at ${tops.join(', ')}`).toBeLessThanOrEqual(2);
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  });

  it("names an alarm, where it is and since when, in French and at the site's hour", async () => {
    const readings = t.hub.db.prepare('SELECT count(*) FROM readings').pluck();
    const raised = t.hub.db.prepare(
      `SELECT raised_at FROM alarms WHERE locker_id = 'box-1' AND kind = 'temperature_high' AND level = 'warning'`,
    );
    // The farm box's fridge at 6 °C, a minute at a time, until the warning is raised.
    for (let m = 0; m < 45 && !raised.get(); m++) {
      now += MIN;
      const before = readings.get() as number;
      await box.telemetry([{ sensor: 't1', c: 6 }]);
      await eventually(() => (readings.get() as number) > before, 5000, 'the reading stored');
    }
    const at = (raised.get() as { raised_at: number } | undefined)?.raised_at;
    expect(at).toBeDefined();
    await fr.goto(`${base}/#/alarms`);
    const row = fr.locator('tr[data-state="raised"]', { hasText: 'Température trop haute' });
    await row.waitFor();
    const text = await row.textContent();
    expect(text).toContain('avertissement');
    expect(text).toMatch(/sonde t1 \(portes? [\d, ]+\)/);
    expect(text).toContain(clock(at as number, 'Europe/Paris'));
    expect(await englishOn(fr)).toEqual([]);
    await row.getByRole('button', { name: 'Acquitter…' }).click();
    await fr.getByRole('dialog', { name: /Acquitter : Température trop haute sur box-1/ }).waitFor();
    expect(await englishOn(fr)).toEqual([]);
    await fr.getByRole('dialog').getByRole('button', { name: 'Annuler' }).click();
    await fr.goto(`${base}/#/lockers/box-1/1`);
    await fr.locator('[data-door="1"][data-condition="warning"]').waitFor();
    // The chart's legend, under the cursor at the last reading: the farm's time, not Tokyo's.
    const over = fr.locator('.chart-box .u-over');
    const area = await over.boundingBox();
    await over.hover({ position: { x: (area?.width ?? 10) - 2, y: 20 } });
    await fr
      .locator('.u-legend .u-series')
      .first()
      .locator('.u-value', { hasText: /^sam\. 5 déc\., 14:\d\d UTC\+1$/ })
      .waitFor();
    expect(await englishOn(fr)).toEqual([]);
    await screenshot(fr, 'fr-alarm');
  });
});
