/**
 * The customer's parcel page (issue 22), on a phone in Chromium against the real hub and a
 * simulated cabinet: reached by the parcel's link, in the recipient's language and the site's
 * time zone; the window extended within the site's policy, the code shown on request, and after
 * pickup the temperatures of the whole journey. And the platform's side: the link and its QR
 * code, extending over the API, and the sealed code never in clear in the store.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SimLocker } from '../../cli/sim-locker.ts';
import { findProfile, when } from '../../devices/index.ts';
import { launchBrowser, screenshot } from '../helpers/browser.ts';
import { eventually, startTestHub, type TestHub } from '../helpers/hub.ts';
import { type Ordered, orderParcel, useCode } from '../helpers/parcels.ts';

const HOUR = 3_600_000;
const MIN = 60_000;

let browser: Browser;
let t: TestHub;
let town: SimLocker;
let clock: number;

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(() => browser?.close());

beforeEach(async () => {
  clock = Date.UTC(2026, 11, 7, 8, 0);
  t = await startTestHub({ now: () => clock, manualTicks: true });
  town = await t.locker({ site: 'lyon', locker: 'town-1' }, 'town-locker-16');
  // The site speaks English; its customers' pages are in their own language, in Paris time.
  const settings = await t.api('PUT', '/api/v1/sites/lyon/settings', {
    language: 'en',
    timeZone: 'Europe/Paris',
    extend: { hours: 24, times: 1 },
  });
  expect(settings.status, JSON.stringify(settings.body)).toBe(200);
});
afterEach(() => t.close());

const base = () => `http://127.0.0.1:${t.hub.httpPort}`;
const view = async (id: string, token = t.operator) =>
  (await t.api('GET', `/api/v1/parcels/${id}`, undefined, token)).body;
const order = (body: Record<string, unknown> = {}) =>
  orderParcel(t, {
    lockerId: 'town-1',
    recipient: { name: 'Ada', language: 'fr' },
    reference: 'CMD-42',
    ...body,
  });
const linkOf = async (id: string, token = t.integration) => {
  const res = await t.api('GET', `/api/v1/parcels/${id}/customer-link`, undefined, token);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as { url: string; qrSvg: string };
};
const deposit = async (p: Ordered) => {
  await useCode(town, p.depositCode, p.parcel.door);
  await eventually(async () => (await view(p.parcel.id)).state === 'stored', 5000, 'stored');
};
const events = (type: string) =>
  t.hub.db
    .prepare('SELECT actor, parcel_id, data FROM events WHERE type = ? ORDER BY seq')
    .all(type) as Array<{
    actor: string;
    parcel_id: string;
    data: string;
  }>;
/** Posts the page's form as a browser without script would. */
const post = (url: string, action: string) =>
  fetch(url, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `do=${action}`,
  });

describe('the customer’s page on a phone', () => {
  it('goes ready → extend → show the code → collect → the journey’s temperatures, in French and Paris time', async () => {
    const p = await order();
    const { url, qrSvg } = await linkOf(p.parcel.id);
    expect(url).toMatch(new RegExp(`^${base()}/c/[A-Za-z0-9_-]{22}$`));
    expect(qrSvg).toMatch(/^<svg[^>]*>/);
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      javaScriptEnabled: false,
    });
    const page = await context.newPage();
    try {
      await page.goto(url);
      expect(await page.locator('html').getAttribute('lang')).toBe('fr');
      expect(await page.locator('[data-stage]').getAttribute('data-stage')).toBe('coming');
      await expect.poll(() => page.textContent('body')).toContain('Votre colis est en route vers lyon');

      await deposit(p);
      const stored = await view(p.parcel.id);
      const first = stored.pickupExpiresAt as number;
      await page.goto(url);
      const body = (await page.textContent('body')) as string;
      expect(body).toContain('Votre colis est prêt à retirer à lyon');
      expect(body).toContain(`Casier town-1, porte ${p.parcel.door}`);
      expect(body).toContain('Tapez votre code sur le clavier du casier town-1');
      // The end of the window in the site's zone (Paris, UTC+1 in December), not the hub's (UTC).
      const paris = when(first, 'fr', 'Europe/Paris', 'day');
      expect(paris).not.toBe(when(first, 'fr', 'UTC', 'day'));
      expect(body).toContain(`À retirer avant le ${paris}`);
      expect(body).not.toContain(p.pickupCode);
      // Nothing wider than the phone.
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await screenshot(page, 'customer-ready');

      // Extend: the site allows 24 h, once.
      await page.getByRole('button', { name: 'Prolonger de 24 heures' }).click();
      await page.waitForURL(/\?m=extended$/);
      const later = when(first + 24 * HOUR, 'fr', 'Europe/Paris', 'day');
      const extended = (await page.textContent('body')) as string;
      expect(extended).toContain(`Prolongé : vous avez jusqu’au ${later}`);
      expect(extended).toContain(`À retirer avant le ${later}`);
      expect(await page.getByRole('button', { name: /Prolonger/ }).count()).toBe(0);
      const after = await view(p.parcel.id);
      expect(after.pickupExpiresAt).toBe(first + 24 * HOUR);
      expect(after.codes.find((c: { kind: string }) => c.kind === 'pickup').expiresAt).toBe(
        first + 24 * HOUR,
      );
      expect(events('parcel.extended').map((e) => JSON.parse(e.data))).toEqual([
        { by: 'customer', hours: 24, pickupExpiresAt: first + 24 * HOUR },
      ]);
      // A second extension, posted by hand, is refused: back to the page with a notice.
      const again = await post(url, 'extend');
      expect(again.status).toBe(303);
      expect(again.headers.get('location')).toMatch(/\?m=not_extended$/);
      expect((await view(p.parcel.id)).pickupExpiresAt).toBe(first + 24 * HOUR);

      // The code, on request only, and the ledger says it was shown (not what it is).
      await page.getByRole('button', { name: 'Afficher mon code' }).click();
      expect(await page.locator('[data-code]').textContent()).toBe(p.pickupCode);
      const revealed = events('code.revealed');
      expect(revealed).toHaveLength(1);
      expect(revealed[0]?.parcel_id).toBe(p.parcel.id);
      expect(revealed[0]?.data).not.toContain(p.pickupCode);

      // 6 h 12 min in the locker, a reading every 5 minutes between 2.1 and 3.8 °C.
      const door = p.parcel.door;
      const sensor = findProfile('town-locker-16')?.compartments.find((c) => c.door === door)
        ?.sensor as string;
      const depositedAt = stored.storedAt as number;
      const temps = [2.1, 2.9, 3.4, 3.8, 3.1, 2.6];
      const readings = t.hub.db.prepare('SELECT count(*) FROM readings WHERE ts > ?').pluck();
      for (let i = 1; i <= 74; i++) {
        clock = depositedAt + i * 5 * MIN;
        await town.telemetry([{ sensor, c: temps[i % temps.length] as number }]);
        // Each reading stored before the clock moves on: it arrives on time, as a live one does.
        await t.ticked(() => readings.get(depositedAt) === i, 5000, 'the reading stored');
      }
      clock = depositedAt + 6 * HOUR + 12 * MIN;
      // The customer types the code the page showed.
      await useCode(town, p.pickupCode, door);
      await t.ticked(async () => (await view(p.parcel.id)).state === 'picked_up', 5000, 'picked up');

      await page.goto(url);
      expect(await page.locator('[data-stage]').getAttribute('data-stage')).toBe('collected');
      const journey = (await page.locator('.journey').textContent()) as string;
      expect(journey).toContain('Conservé entre 2,1 et 3,8 °C pendant 6 h 12 min.');
      expect(journey).toContain('Dans ses limites (0,0 à 4,0 °C) tout du long.');
      expect(await page.locator('.journey').getAttribute('data-verdict')).toBe('ok');
      expect(await page.getByRole('button').count()).toBe(0);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await screenshot(page, 'customer-collected');
      // After pickup the code is no longer shown, to anyone holding the link.
      const late = await post(url, 'code');
      expect(late.status).toBe(409);
      expect(await late.text()).not.toContain(p.pickupCode);
    } finally {
      await context.close();
    }
  });

  it('is kept with the parcel from its creation: a link sent out is never one the store forgot', async () => {
    const a = await order();
    // Nobody asked for the link yet; the store holds its hash all the same, written with the parcel.
    const kept = t.hub.db.prepare('SELECT link_hash FROM parcels WHERE id = ?').pluck();
    const held = kept.get(a.parcel.id) as string | null;
    expect(held).toMatch(/^[0-9a-f]{64}$/);
    const { url } = await linkOf(a.parcel.id);
    expect(createHash('sha256').update(url.slice(-22)).digest('hex')).toBe(held);
    expect((await fetch(url)).status).toBe(200);
  });

  it('is private to its link: an unknown token gets one 404 page, a parcel’s link shows nothing of another', async () => {
    const a = await order({ reference: 'CMD-A', recipient: { name: 'Ada Lovelace' } });
    const b = await order({ reference: 'CMD-B', recipient: { name: 'Bob', language: 'en' } });
    await deposit(a);
    const linkA = (await linkOf(a.parcel.id)).url;
    const linkB = (await linkOf(b.parcel.id)).url;
    const pageB = await fetch(linkB);
    expect(pageB.status).toBe(200);
    const htmlB = await pageB.text();
    expect(htmlB).toContain('CMD-B');
    expect(htmlB).toContain('<html lang="en">');
    for (const leak of ['CMD-A', 'Ada', a.parcel.id, a.pickupCode, linkA.slice(-22)])
      expect(htmlB).not.toContain(leak);
    // The page's headers: its own strict policy, nothing cached, indexed or referred.
    expect(pageB.headers.get('content-security-policy')).toMatch(/^default-src 'none'; style-src 'sha256-/);
    expect(pageB.headers.get('cache-control')).toBe('no-store');
    expect(pageB.headers.get('referrer-policy')).toBe('no-referrer');
    expect(pageB.headers.get('x-robots-tag')).toContain('noindex');

    // Malformed, unknown, a link's token one character off: the same answer, never the dashboard's.
    const token = linkA.slice(-22);
    const other = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    const answers = await Promise.all(
      ['x', 'A'.repeat(22), other, `${token}x`, '%3Cscript%3E'].map(async (bad) => {
        const res = await fetch(`${base()}/c/${bad}`);
        return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
      }),
    );
    for (const a of answers) expect(a).toEqual(answers[0]);
    expect(answers[0]?.status).toBe(404);
    expect(answers[0]?.type).toBe('text/html; charset=utf-8');
    expect(answers[0]?.body).toContain('Link not found');
    expect((await post(`${base()}/c/${other}`, 'code')).status).toBe(404);
    expect((await post(`${base()}/c/${other}`, 'extend')).status).toBe(404);

    // Another platform cannot get a parcel's link; a producer's token cannot either.
    const theirs = t.hub.provisioning.createToken('integration', 'other platform', 'test').token;
    const refused = await t.api('GET', `/api/v1/parcels/${a.parcel.id}/customer-link`, undefined, theirs);
    expect(refused.status).toBe(404);
    expect(refused.body.error.code).toBe('HUB_ERR_PARCEL_NOT_FOUND');
  });
});

describe('a parcel on its way, or held', () => {
  it('says where it is going before it is there, and that it is held for a temperature check, with no code', async () => {
    await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
    const travelling = await orderParcel(t, {
      recipient: { name: 'Ada', language: 'en' },
      destinationLockerId: 'town-1',
    });
    const coming = await (await fetch((await linkOf(travelling.parcel.id)).url)).text();
    expect(coming).toContain('data-stage="coming"');
    expect(coming).toContain('Your parcel is on its way to lyon.');
    expect(coming).toContain('You will collect it from locker town-1.');
    expect(coming).not.toContain('name="do"');

    const p = await order();
    await deposit(p);
    const { url } = await linkOf(p.parcel.id);
    expect(await (await fetch(url)).text()).toContain('value="code"');
    // +12 °C for 12 minutes in a chilled door: quarantined.
    const sensor = findProfile('town-locker-16')?.compartments.find((c) => c.door === p.parcel.door)
      ?.sensor as string;
    const readings = t.hub.db.prepare('SELECT count(*) FROM readings').pluck();
    for (let m = 1; m <= 12; m++) {
      clock += MIN;
      await town.telemetry([{ sensor, c: 12 }]);
      await t.ticked(() => readings.get() === m, 5000, 'the reading stored');
    }
    expect((await view(p.parcel.id)).state).toBe('quarantined');
    const held = await (await fetch(url)).text();
    expect(held).toContain('data-stage="held"');
    expect(held).toContain('Votre colis est retenu pour un contrôle de température.');
    expect(held).not.toContain('name="do"');
    const code = await post(url, 'code');
    expect(code.status).toBe(409);
    expect(await code.text()).not.toContain(p.pickupCode);
    expect((await post(url, 'extend')).headers.get('location')).toMatch(/not_extended$/);
  });
});

describe('a parcel its customer did not collect in time', () => {
  it('has a page that says so and what happens now, with no code and no extension left to give', async () => {
    const p = await order({ pickupWindowHours: 1 });
    await deposit(p);
    const { url } = await linkOf(p.parcel.id);
    const end = (await view(p.parcel.id)).pickupExpiresAt as number;
    clock = end + 1000;
    // The page knows before the hub's sweep has run.
    expect(await (await fetch(url)).text()).toContain('data-stage="expired"');
    await t.hub.tick();
    expect((await view(p.parcel.id)).state).toBe('expired');
    const html = await (await fetch(url)).text();
    expect(html).toContain(
      `Le délai pour retirer votre colis a pris fin le ${when(end, 'fr', 'Europe/Paris', 'day')}. La boutique où vous avez commandé est prévenue`,
    );
    expect(html).not.toContain('name="do"');
    const code = await post(url, 'code');
    expect(code.status).toBe(409);
    expect(await code.text()).not.toContain(p.pickupCode);
    expect((await post(url, 'extend')).headers.get('location')).toMatch(/not_extended$/);
    expect(
      t.hub.db
        .prepare("SELECT sealed FROM codes WHERE parcel_id = ? AND kind = 'pickup'")
        .pluck()
        .get(p.parcel.id),
    ).toBeNull();
  });
});

describe('extending a pickup window over the API', () => {
  it('works whatever the site’s customer policy, within a week a call and 30 days in all; 404 for another platform, 409 unless waiting', async () => {
    await t.api('PUT', '/api/v1/sites/lyon/settings', { extend: { hours: 24, times: 0 } });
    const p = await order();
    const extend = (hours: unknown, token = t.integration) =>
      t.api('POST', `/api/v1/parcels/${p.parcel.id}/extend`, { hours }, token);

    // Not in its locker yet: no window to extend.
    const early = await extend(24);
    expect(early.status).toBe(409);
    expect(early.body.error.code).toBe('HUB_ERR_INVALID_STATE');
    await deposit(p);
    const first = (await view(p.parcel.id)).pickupExpiresAt as number;
    // The customer may not (times 0): the page offers nothing, and a hand-made post is refused.
    const { url } = await linkOf(p.parcel.id);
    expect(await (await fetch(url)).text()).not.toContain('value="extend"');
    expect((await post(url, 'extend')).headers.get('location')).toMatch(/not_extended$/);

    for (const bad of [0, -1, 169, 'a day'])
      expect((await extend(bad)).status, `hours ${String(bad)}`).toBe(400);
    const theirs = t.hub.provisioning.createToken('integration', 'other platform', 'test').token;
    expect((await extend(24, theirs)).status).toBe(404);

    const ok = await extend(168);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.pickupExpiresAt).toBe(first + 168 * HOUR);
    expect((await extend(168, t.operator)).status).toBe(200);
    expect((await extend(168)).status).toBe(200);
    // 72 h + 3 × 168 h = 576 h; another week would pass 30 days (720 h).
    const tooLong = await extend(168);
    expect(tooLong.status).toBe(409);
    expect(tooLong.body.error.message).toMatch(/30 days/);
    const now = await view(p.parcel.id);
    expect(now.pickupExpiresAt).toBe(first + 3 * 168 * HOUR);
    expect(now.codes.find((c: { kind: string }) => c.kind === 'pickup').expiresAt).toBe(now.pickupExpiresAt);
    // The cabinet's offline table follows: offline, the code works until the new end too.
    await t.ticked(
      () =>
        town.outbox
          .codeTable()
          ?.entries.some(
            (e) =>
              e.kind === 'pickup' && e.doors.includes(p.parcel.door) && e.expiresAt === now.pickupExpiresAt,
          ),
      5000,
      'the extended code in the offline table',
    );
    expect(events('parcel.extended').map((e) => JSON.parse(e.data).by)).toEqual([
      'integration',
      'operator',
      'integration',
    ]);

    await useCode(town, p.pickupCode, p.parcel.door);
    await eventually(async () => (await view(p.parcel.id)).state === 'picked_up', 5000, 'picked up');
    const late = await extend(1);
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('HUB_ERR_INVALID_STATE');
  });
});

describe('the sealed pickup code', () => {
  it('is never in clear in the store, and is wiped when the code ends', async () => {
    const kept = await order();
    const cancelled = await order();
    const sealed = t.hub.db
      .prepare("SELECT sealed FROM codes WHERE parcel_id = ? AND kind = 'pickup'")
      .pluck();
    expect(sealed.get(kept.parcel.id)).toMatch(/^s1:/);
    // The file and its write-ahead log, as a thief would copy them.
    const bytes = () =>
      ['casier.db', 'casier.db-wal']
        .map((f) => {
          try {
            return readFileSync(join(t.dataDir, f)).toString('latin1');
          } catch {
            return '';
          }
        })
        .join('');
    for (const p of [kept, cancelled]) expect(bytes()).not.toContain(p.pickupCode);
    // Deposit codes are not sealed: nobody is shown them again.
    expect(
      t.hub.db
        .prepare("SELECT count(*) FROM codes WHERE kind = 'deposit' AND sealed IS NOT NULL")
        .pluck()
        .get(),
    ).toBe(0);

    const cancel = await t.api(
      'POST',
      `/api/v1/parcels/${cancelled.parcel.id}/cancel`,
      { reason: 'out of stock' },
      t.integration,
    );
    expect(cancel.status).toBe(200);
    expect(sealed.get(cancelled.parcel.id)).toBeNull();
    await deposit(kept);
    await useCode(town, kept.pickupCode, kept.parcel.door);
    await eventually(async () => (await view(kept.parcel.id)).state === 'picked_up', 5000, 'picked up');
    expect(sealed.get(kept.parcel.id)).toBeNull();
  });
});
