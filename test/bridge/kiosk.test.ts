/**
 * A town locker on a KR-CU16 bus has no display and no keypad: the bridge serves a screen and an
 * on-screen keypad to the Pi's touchscreen. The real bridge and driver, the board as the public
 * sources describe it, the hub, and the page in Chromium at the touchscreen's size.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findProfile, linePair } from '../../devices/index.ts';
import { Bridge } from '../../firmware-bridge/bridge.ts';
import { KrCu16Driver } from '../../firmware-bridge/drivers/kr-cu16.ts';
import { KIOSK_HEADER, Kiosk } from '../../firmware-bridge/kiosk/kiosk.ts';
import { Outbox } from '../../firmware-bridge/outbox.ts';
import { KrCu16BusSim } from '../../simulators/boards/kr-cu16-bus.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { eventually, startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';

const profile = findProfile('town-locker-16') as NonNullable<ReturnType<typeof findProfile>>;
let browser: Browser;
let t: TestHub;
let bus: KrCu16BusSim;
let bridge: Bridge;
let kiosk: Kiosk;
let dir: string;
let page: Page;

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(() => browser?.close());

beforeEach(async () => {
  t = await startTestHub();
  const { password } = t.hub.provisioning.addDevice({ site: 'lyon', locker: 'town-1' }, profile.name, 'test');
  const [boardEnd, bridgeEnd] = linePair();
  bus = new KrCu16BusSim({ path: boardEnd, boards: ['open-low'] });
  await bus.start();
  dir = mkdtempSync(join(tmpdir(), 'casier-kiosk-'));
  kiosk = new Kiosk({ host: '127.0.0.1', port: 0, messageMs: 60_000 });
  bridge = new Bridge({
    locker: { site: 'lyon', locker: 'town-1' },
    password,
    mqttUrl: t.hub.mqttUrl,
    profile,
    driver: new KrCu16Driver(bridgeEnd, profile),
    outbox: new Outbox(join(dir, 'bridge')),
    log: pino({ level: 'silent' }),
    inputs: [], // no USB keypad: the touchscreen is the keypad
    kiosk,
  });
  const ready = waitFor(bridge, 'ready', () => true, 10_000);
  await bridge.start();
  await ready;
  const online = t.hub.db.prepare('SELECT online FROM lockers WHERE id = ?').pluck();
  await eventually(() => online.get('town-1') === 1, 5000, 'town-1 online');
  const context = await browser.newContext({ viewport: { width: 800, height: 480 }, hasTouch: true });
  page = await context.newPage();
  await page.goto(`http://127.0.0.1:${kiosk.port}/`);
});

afterEach(async () => {
  await page?.context().close();
  await bridge?.stop();
  await bus?.stop();
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

const tap = async (code: string) => {
  for (const digit of code) await page.getByRole('button', { name: digit, exact: true }).tap();
  await page.getByRole('button', { name: 'OK' }).tap();
};

describe('the kiosk screen on the Pi', () => {
  it('takes a code on its keypad, opens the door, and says so on the screen with a beep', async () => {
    await expect.poll(() => page.locator('#screen').textContent()).toBe('Enter your code');
    const order = await t.api(
      'POST',
      '/api/v1/parcels',
      { lockerId: 'town-1', size: 'M', temperatureClass: 'ambient', recipient: { name: 'Ada' } },
      t.integration,
    );
    const { parcel, depositCode } = order.body;
    // Digits are masked as they are typed; a mistyped one is taken back.
    for (const digit of '12') await page.getByRole('button', { name: digit, exact: true }).tap();
    await expect.poll(() => page.locator('#entry').textContent()).toBe('••');
    await page.getByRole('button', { name: 'Clear' }).tap();
    await page.getByRole('button', { name: 'Clear' }).tap();
    await tap(depositCode);
    await page.locator('#screen', { hasText: `Door ${parcel.door} open` }).waitFor();
    expect(bus.unlocked).toEqual([`0:${parcel.door}`]);
    await expect.poll(() => page.locator('body').getAttribute('data-last-beep')).toBe('ok');
    await page.screenshot({ path: join('test-artifacts', 'kiosk', 'door-open.png') });

    await tap('00000000');
    await page.locator('#screen', { hasText: 'Invalid code' }).waitFor();
    await expect.poll(() => page.locator('body').getAttribute('data-last-beep')).toBe('error');
    expect(await page.locator('body').getAttribute('data-beeps')).toBe('2');
    const rejected = await t.api('GET', '/api/v1/events?type=code.rejected');
    expect(rejected.body.events).toHaveLength(1);
  });

  it('speaks its site’s language: the page’s own words and what the hub says', async () => {
    expect((await t.api('PUT', '/api/v1/sites/lyon/settings', { language: 'fr' })).status).toBe(200);
    // The page takes the language of the next code table the hub sends.
    await expect
      .poll(async () => (await fetch(`http://127.0.0.1:${kiosk.port}/`)).text(), { timeout: 5000 })
      .toContain('<html lang="fr">');
    await page.reload();
    await expect.poll(() => page.locator('#screen').textContent()).toBe('Tapez votre code');
    await page.getByRole('button', { name: 'Effacer' }).tap();
    await tap('00000000');
    await page.locator('#screen', { hasText: 'Code invalide' }).waitFor();
  });

  it('takes codes from its own page only: no foreign origin, no other host name, no bad code', async () => {
    const url = `http://127.0.0.1:${kiosk.port}/code`;
    const post = (headers: Record<string, string>, body = '{"code":"12345678"}') =>
      fetch(url, { method: 'POST', headers, body }).then((r) => r.status);
    expect(await post({ 'content-type': 'text/plain' })).toBe(403); // a form from elsewhere
    expect(await post({ 'content-type': 'application/json' })).toBe(403); // no kiosk header
    expect(await post({ 'content-type': 'application/json', [KIOSK_HEADER]: '1' }, '{"code":"12a"}')).toBe(
      400,
    );
    // A name rebound to 127.0.0.1 by someone's DNS: the Host header gives it away (fetch sets its own).
    const rebound = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(url, {
        method: 'POST',
        headers: { host: 'evil.example', 'content-type': 'application/json', [KIOSK_HEADER]: '1' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on('error', reject);
      req.end('{"code":"12345678"}');
    });
    expect(rebound).toBe(421);
    // A page on another origin cannot post to it: the preflight is never granted.
    const other = await browser.newPage();
    await other.goto(`http://localhost:${kiosk.port}/kiosk.css`);
    const blocked = await other.evaluate(
      (u) =>
        fetch(u, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-casier-kiosk': '1' },
          body: '{"code":"12345678"}',
        }).then(
          () => 'sent',
          () => 'blocked',
        ),
      url,
    );
    await other.close();
    expect(blocked).toBe('blocked');
    // A request line no URL parser takes: answered 400, and the kiosk (and the bridge) go on.
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(kiosk.port, '127.0.0.1', () =>
        socket.end('GET http://[ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'),
      );
      let got = '';
      socket.on('data', (d) => {
        got += d;
      });
      socket.on('close', () => resolve(got));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400/);
    expect((await fetch(`http://127.0.0.1:${kiosk.port}/kiosk.css`)).status).toBe(200);
    await t.hub.tick();
    expect((await t.api('GET', '/api/v1/events?type=code.rejected')).body.events).toEqual([]);
  });
});
