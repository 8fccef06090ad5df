/**
 * The operators' dashboard in headless Chromium against a real hub and a simulated cabinet on a
 * virtual clock: sign-in, live door states, a compressor failure acknowledged on one page and
 * seen acknowledged on another, a remote open reaching the cabinet, a quarantined parcel
 * released, the live link dropping and resyncing. Screenshots land in test-artifacts/dashboard/.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimLocker } from '../../cli/sim-locker.ts';
import { Ledger } from '../../hub/db/ledger.ts';
import { Fleet } from '../../hub/domain/fleet.ts';
import { loadOrCreateKey } from '../../hub/domain/secrets.ts';
import { CHILLED, ThermalCompartment } from '../../simulators/thermal.ts';
import { launchBrowser, operatorPage, screenshot, signIn } from '../helpers/browser.ts';
import { eventually, startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';
import { lineProxy } from '../helpers/proxy.ts';

const MIN = 60_000;
let t: TestHub;
let box: SimLocker;
let browser: Browser;
let base: string;
let clock = Math.floor(Date.now() / MIN) * MIN - 3 * 60 * MIN;
const fridge = new ThermalCompartment(CHILLED);
let sent = 0;
const pages: Array<{ page: Page; errors: string[] }> = [];
let a: Page;
let b: Page;
let parcelId = '';

const stored = () => t.hub.db.prepare('SELECT count(*) FROM readings').pluck().get() as number;

/** Virtual minutes: the fridge model runs, sensor t1 (doors 1-4) reports, the hub stores it. */
async function minutes(n: number, until?: () => boolean) {
  for (let m = 0; m < n; m++) {
    fridge.step(60);
    clock += MIN;
    await box.telemetry([{ sensor: 't1', c: Math.round(fridge.temperature * 100) / 100 }]);
    sent++;
    await eventually(() => stored() === sent, 5000, 'the reading stored');
    if (until?.()) return;
  }
}

const alarmCount = (level: string) =>
  t.hub.db
    .prepare(`SELECT count(*) FROM alarms WHERE kind = 'temperature_high' AND level = ?`)
    .pluck()
    .get(level) as number;

beforeAll(async () => {
  t = await startTestHub({ now: () => clock, flushMs: 10 });
  base = `http://127.0.0.1:${t.hub.httpPort}`;
  box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
  for (let i = 0; i < 60; i++) fridge.step(60);
  await minutes(10);
  browser = await launchBrowser();
  for (const _ of [0, 1]) pages.push(await operatorPage(browser));
  a = (pages[0] as { page: Page }).page;
  b = (pages[1] as { page: Page }).page;
});

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('dashboard', () => {
  it('serves the page with caching headers: the shell revalidated, the hashed assets immutable', async () => {
    const html = await fetch(base, { headers: { 'accept-encoding': 'br' } });
    expect(html.headers.get('cache-control')).toBe('no-cache');
    expect(html.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(html.headers.get('content-encoding')).toBe('br');
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(await html.text())?.[1];
    const asset = await fetch(`${base}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    // The static files do not swallow the API's errors.
    const missing = await fetch(`${base}/api/v1/nothing-here`);
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe('HUB_ERR_NOT_FOUND');
  });

  it('signs in with an operator token only', async () => {
    await a.goto(base);
    await screenshot(a, 'sign-in');
    await a.getByLabel('Operator token').fill('casier_not-a-token-at-all');
    await a.getByRole('button', { name: 'Sign in' }).click();
    await a.getByText('This token is unknown or revoked.').waitFor();
    await a.getByLabel('Operator token').fill(t.integration);
    await a.getByRole('button', { name: 'Sign in' }).click();
    await a.getByText('This token is not an operator token.').waitFor();

    await signIn(a, base, t.operator);
    await signIn(b, base, t.operator);
    await a.locator('[data-locker="box-1"]').waitFor();
    expect(await a.locator('[data-locker="box-1"]').textContent()).toContain('online');
  });

  it('shows a door opened at the cabinet within a second', async () => {
    await a.goto(`${base}/#/lockers/box-1`);
    await a.locator('[data-door="3"]').waitFor();
    const started = Date.now();
    box.openDoor(3, { force: true });
    await a.locator('[data-door="3"][data-door-state="open"]').waitFor({ timeout: 1000 });
    const shownAfter = Date.now() - started;
    expect(shownAfter).toBeLessThan(1000);
    box.closeDoor(3);
    await a.locator('[data-door="3"][data-door-state="closed"]').waitFor({ timeout: 1000 });
  });

  it('brings a compressor failure to the alarm list; acknowledged on one page, it shows acknowledged on another', async () => {
    // A chilled parcel in door 1, watched by t1: the goods the alarm is about.
    const created = await t.api(
      'POST',
      '/api/v1/parcels',
      { lockerId: 'box-1', size: 'M', temperatureClass: 'chilled', recipient: { name: 'Ada Lovelace' } },
      t.integration,
    );
    parcelId = created.body.parcel.id;
    const unlocked = waitFor(box, 'unlocked');
    box.pressCode(created.body.depositCode);
    await unlocked;
    box.openDoor(created.body.parcel.door);
    box.closeDoor(created.body.parcel.door);
    await eventually(async () => (await t.api('GET', `/api/v1/parcels/${parcelId}`)).body.state === 'stored');

    await a.goto(`${base}/#/alarms`);
    await b.goto(`${base}/#/`);
    fridge.faults.compressorFailed = true;
    await minutes(60, () => alarmCount('warning') > 0);
    expect(alarmCount('warning')).toBe(1);

    const row = a.locator('tr[data-state="raised"]', { hasText: 'Temperature high' });
    await row.waitFor({ timeout: 5000 });
    await b.locator('.alarm-raised', { hasText: 'Temperature high' }).waitFor({ timeout: 5000 });
    await screenshot(b, 'overview-alarm');
    await screenshot(a, 'alarms');

    await row.getByRole('button', { name: 'Acknowledge…' }).click();
    await a.getByLabel('What is being done about it?').fill('Technician called, ETA 30 min');
    await a.getByRole('dialog').getByRole('button', { name: 'Acknowledge', exact: true }).click();
    await a.locator('tr[data-state="acknowledged"]', { hasText: 'Technician called' }).waitFor();

    // The second operator sees who acknowledged it, without reloading.
    const acked = b.locator('.alarm-acknowledged', { hasText: 'Temperature high' });
    await acked.waitFor({ timeout: 5000 });
    expect(await acked.textContent()).toContain('acknowledged by test operator');
  });

  it('draws the compartment with its chart, the limits and the alarm', async () => {
    await a.goto(`${base}/#/lockers/box-1/1`);
    await a.locator('[data-door="1"][data-condition="warning"]').waitFor();
    await a.locator('.chart-box canvas').waitFor();
    await a.getByRole('button', { name: '1 h' }).click();
    await a.locator('.chart-box canvas').waitFor();
    expect(await a.locator('.chart .muted').first().textContent()).toMatch(/readings, min .* 1 alarm/);
    await screenshot(a, 'locker');
  });

  it('releases a parcel quarantined at the critical threshold, with a reason', async () => {
    await minutes(60, () => alarmCount('critical') > 0);
    await eventually(
      async () => (await t.api('GET', `/api/v1/parcels/${parcelId}`)).body.state === 'quarantined',
    );

    await a.goto(`${base}/#/parcels`);
    await a.getByLabel('Parcel id, SSCC, reference or recipient').fill('lovelace');
    await a.getByRole('button', { name: 'Search' }).click();
    await a.locator(`tr[data-parcel="${parcelId}"]`).getByRole('link', { name: parcelId }).click();
    await a.getByRole('heading', { name: 'Temperature record' }).waitFor();
    await a.getByText('Held for temperature').waitFor();
    await a.locator('li[data-type="parcel.quarantined"]').waitFor();
    await a.locator('.columns .chart-box canvas').waitFor();
    await screenshot(a, 'parcel');

    await a.getByRole('button', { name: 'Release…' }).click();
    await a.getByLabel('Reason (recorded in the audit trail)').fill('Checked: sealed dairy, core at 6 °C');
    await a.getByRole('dialog').getByRole('button', { name: 'Release', exact: true }).click();
    await a.locator('li[data-type="parcel.released"]', { hasText: 'Checked: sealed dairy' }).waitFor();
    expect((await t.api('GET', `/api/v1/parcels/${parcelId}`)).body.state).toBe('stored');
  });

  it('opens a door remotely after a reason and a confirmation, through the audited path', async () => {
    await a.goto(`${base}/#/lockers/box-1/2`);
    await a.getByRole('button', { name: 'Open door 2…' }).click();
    await a
      .getByLabel('Why must it open? (recorded in the audit trail)')
      .fill('Farmer locked out, phoned in');
    await a.getByRole('button', { name: 'Continue' }).click();
    await screenshot(a, 'remote-open');
    // The bridge executed it: the board released door 2's latch for that command.
    const unlocked = waitFor<[{ id: string; type: string; door?: number }, { ok: boolean }]>(
      box,
      'command',
      (c, r) => c.type === 'unlock' && c.door === 2 && r.ok,
    );
    await a.getByRole('button', { name: 'Open door 2 now' }).click();
    const [{ id: commandId }] = await unlocked;
    await a.locator('[data-command-state="done"]').waitFor();
    const events = await t.api('GET', '/api/v1/events?type=compartment.remote_open');
    expect(events.body.events.at(-1)).toMatchObject({
      door: 2,
      data: { reason: 'Farmer locked out, phoned in', operator: 'test operator', commandId },
    });
    // Nobody came to the door after all: the operator gives the opening up.
    await a.getByRole('dialog').getByRole('button', { name: 'Close' }).click();
    await a.getByRole('button', { name: 'Give up this opening…' }).click();
    await a.getByLabel('Reason (recorded in the audit trail)').fill('Farmer found his own key');
    await a.getByRole('dialog').getByRole('button', { name: 'Give up the opening' }).click();
    await a.getByRole('button', { name: 'Give up this opening…' }).waitFor({ state: 'detached' });
    const cancelled = await t.api('GET', '/api/v1/events?type=compartment.open_cancelled');
    expect(cancelled.body.events.at(-1)).toMatchObject({
      door: 2,
      data: { reason: 'Farmer found his own key' },
    });
    expect(
      (await t.api('GET', '/api/v1/lockers/box-1')).body.compartments.find(
        (c: { door: number }) => c.door === 2,
      ).opening,
    ).toBeNull();
  });

  it('is operable by keyboard', async () => {
    await a.goto(`${base}/#/lockers/box-1`);
    await a.locator('[data-door="4"]').focus();
    await a.keyboard.press('Enter');
    await a.waitForURL(/#\/lockers\/box-1\/4$/);
    await a.getByRole('button', { name: 'Open door 4…' }).focus();
    await a.keyboard.press('Enter');
    await a.getByRole('dialog').waitFor();
    await a.keyboard.press('Escape');
    await a.getByRole('dialog').waitFor({ state: 'detached' });
  });

  it('says when the live link drops, and resyncs when it returns', async () => {
    // The page reaches the hub through a line that can be cut; the hub itself keeps running.
    const line = await lineProxy(t.hub.httpPort);
    const via = `http://127.0.0.1:${line.port}`;
    const { page, errors } = await operatorPage(browser);
    await signIn(page, via, t.operator);
    await page.goto(`${via}/#/lockers/box-1`);
    await page.locator('[data-link="live"]').waitFor();
    line.cut();
    await page.locator('[data-link="reconnecting"]').waitFor({ timeout: 5000 });
    await page.getByText('Live link lost').waitFor();
    await screenshot(page, 'link-lost');
    // What happens while the line is down is on the page once it is back.
    box.openDoor(6, { force: true });
    line.restore();
    await page.getByText('Live again').waitFor({ timeout: 15_000 });
    await page.locator('[data-door="6"][data-door-state="open"]').waitFor({ timeout: 5000 });
    box.closeDoor(6);
    await page.locator('[data-door="6"][data-door-state="closed"]').waitFor({ timeout: 5000 });
    await page.context().close();
    await line.close();
    // Refused connections while the line was down are the point of this test, not page errors.
    expect(errors.filter((e) => !/WebSocket connection .* failed/.test(e))).toEqual([]);
  });

  it('fits a tablet and a phone', async () => {
    const tablet = await operatorPage(browser, { width: 1024, height: 768 });
    await signIn(tablet.page, base, t.operator);
    await tablet.page.goto(`${base}/#/lockers/box-1/1`);
    await tablet.page.locator('.chart-box canvas').waitFor();
    await screenshot(tablet.page, 'tablet-locker');
    const phone = await operatorPage(browser, { width: 390, height: 844 });
    await signIn(phone.page, base, t.operator);
    await screenshot(phone.page, 'phone-overview');
    // Nothing wider than the screen but the cabinet itself, which scrolls.
    const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    pages.push(tablet, phone);
  });

  it("shows a site's line to the hub down, and why its cabinets count as offline", async () => {
    // What the hub makes of `casier/v1/ferme/link` from the site's own broker (tested against real
    // Mosquittos in test/integration/external-broker.test.ts), applied to its store.
    const fleet = new Fleet(t.hub.db, new Ledger(t.hub.db, loadOrCreateKey(t.dataDir)));
    const line = (up: boolean) => t.hub.db.transaction(() => fleet.onSiteLine('ferme', up, clock))();
    await a.goto(`${base}/#/`);
    const site = a.locator('section.site', { has: a.locator('#site-ferme') });
    await site.waitFor();
    line(false);
    await site.getByText(/line to the hub down since \d\d:\d\d/).waitFor({ timeout: 2000 });
    await site
      .locator('[data-locker="box-1"]')
      .getByText(/offline/)
      .waitFor({ timeout: 2000 });
    clock += 2 * MIN; // out of reach for more than a minute: alarmed
    await a.getByText("cabinet (site's line to the hub down)").waitFor({ timeout: 5000 });
    await a.getByText("Site's line to the hub down (ferme)").waitFor();
    await screenshot(a, 'site-line-down');
    line(true);
    await site.getByText(/line to the hub down/).waitFor({ state: 'detached', timeout: 2000 });
  });

  it('logged no script error on any page', () => {
    expect(pages.flatMap((p) => p.errors)).toEqual([]);
  });
});
