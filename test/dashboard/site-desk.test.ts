/**
 * The dashboard of an operator whose token is limited to one site (a town's desk), in headless
 * Chromium against a real hub with two sites: it signs in, shows its site live and nothing of the
 * other, and opens one of its doors remotely through to the cabinet. Before, the live feed refused
 * such a token, and following a remote open (`GET /api/v1/commands/{id}`) answered it 403.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimLocker } from '../../cli/sim-locker.ts';
import { launchBrowser, operatorPage, screenshot, signIn } from '../helpers/browser.ts';
import { eventually, startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';

let t: TestHub;
let farm: SimLocker;
let town: SimLocker;
let browser: Browser;
let page: Page;
let errors: string[];
let base: string;

beforeAll(async () => {
  t = await startTestHub({ flushMs: 10 });
  base = `http://127.0.0.1:${t.hub.httpPort}`;
  farm = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
  town = await t.locker({ site: 'lyon', locker: 'town-1' }, 'town-locker-16');
  // Every door known closed from the cabinet's state: opening one without a code is then forced.
  await eventually(async () =>
    (await t.api('GET', '/api/v1/lockers/town-1')).body.compartments.every(
      (c: { doorState: string }) => c.doorState === 'closed',
    ),
  );
  // Trouble at the farm, which the town's desk has no business seeing.
  farm.openDoor(5, { force: true });
  await eventually(async () => (await t.api('GET', '/api/v1/alarms')).body.alarms.length === 1);
  browser = await launchBrowser();
  ({ page, errors } = await operatorPage(browser));
});

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('the dashboard of a token limited to a site', () => {
  it('shows its site live, and nothing of the others', async () => {
    const desk = t.hub.provisioning.createToken('operator', 'Lyon desk', 'cli', { sites: ['lyon'] }).token;
    await signIn(page, base, desk);
    await page.locator('[data-locker="town-1"]').waitFor();
    expect(await page.locator('[data-locker="box-1"]').count()).toBe(0);
    // Live: a door forced at its own locker shows, with its alarm.
    await page.goto(`${base}/#/lockers/town-1`);
    await page.locator('[data-door="3"]').waitFor();
    town.openDoor(3, { force: true });
    await page.locator('[data-door="3"][data-door-state="open"]').waitFor({ timeout: 5000 });
    await page.goto(`${base}/#/alarms`);
    await page.locator('tr[data-state="raised"]', { hasText: 'town-1' }).waitFor();
    await screenshot(page, 'site-desk');
    town.closeDoor(3);
    expect(await page.locator('body').textContent()).not.toMatch(/box-1|ferme/);
    expect(errors).toEqual([]);
  });

  it('opens one of its doors remotely and follows the command to the cabinet', async () => {
    await page.goto(`${base}/#/lockers/town-1/2`);
    await page.getByRole('button', { name: 'Open door 2…' }).click();
    await page.getByLabel('Why must it open? (recorded in the audit trail)').fill('Customer phoned in');
    await page.getByRole('button', { name: 'Continue' }).click();
    const unlocked = waitFor<[{ type: string; door?: number }, { ok: boolean }]>(
      town,
      'command',
      (c, r) => c.type === 'unlock' && c.door === 2 && r.ok,
    );
    await page.getByRole('button', { name: 'Open door 2 now' }).click();
    await unlocked;
    await page.locator('[data-command-state="done"]').waitFor();
    expect(errors).toEqual([]);
  });
});
