/**
 * A cabinet's front on the dashboard, as an operator reads it: the legend's colours are the
 * cells' colours and tell every condition apart, the selected door is not mistaken for a door in
 * trouble, an opening in progress is said in words, and a town locker fits a phone. Headless
 * Chromium against a real hub and two simulated town lockers, the hub's clock held still (nothing
 * expires behind the test's back). Screenshots land in test-artifacts/dashboard/.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimLocker } from '../../cli/sim-locker.ts';
import { launchBrowser, operatorPage, screenshot, signIn } from '../helpers/browser.ts';
import { eventually, startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';

/** Every condition the cabinet front draws (dashboard/src/views/locker.tsx, `Condition`). */
const CONDITIONS = ['critical', 'warning', 'open', 'stale', 'occupied', 'reserved', 'free'];

type Rgb = [number, number, number];

function rgb(css: string): Rgb {
  const m = /^rgba?\((\d+(?:\.\d+)?),\s*(\d+(?:\.\d+)?),\s*(\d+(?:\.\d+)?)/.exec(css);
  if (!m) throw new Error(`not a computed colour: ${css}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** WCAG 2 relative luminance and contrast ratio. */
function luminance([r, g, b]: Rgb): number {
  const lin = (v: number) => (v / 255 <= 0.04045 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4);
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}
const contrast = (a: Rgb, b: Rgb) => {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
};
const distance = (a: Rgb, b: Rgb) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

/** Hue in degrees and saturation (HSL), to tell an amber/orange "warning" colour. */
function hueSat([r, g, b]: Rgb): { hue: number; sat: number } {
  const [R, G, B] = [r / 255, g / 255, b / 255];
  const max = Math.max(R, G, B);
  const min = Math.min(R, G, B);
  const d = max - min;
  if (d === 0) return { hue: 0, sat: 0 };
  const l = (max + min) / 2;
  const sat = d / (1 - Math.abs(2 * l - 1));
  const h = max === R ? ((G - B) / d) % 6 : max === G ? (B - R) / d + 2 : (R - G) / d + 4;
  return { hue: (h * 60 + 360) % 360, sat };
}

interface Look {
  background: string;
  border: string;
  borderStyle: string;
  color: string;
}

/**
 * The legend's swatches and the cells' looks, per condition: a cell of each condition is drawn in
 * the cabinet's grid for a moment (the live data cannot put every condition on one front at once),
 * and the cells on the front are read as they are.
 */
function looks(page: Page) {
  return page.evaluate(() => {
    const look = (el: Element) => {
      const s = getComputedStyle(el);
      return {
        background: s.backgroundColor,
        border: s.borderTopColor,
        borderStyle: s.borderTopStyle,
        color: s.color,
      };
    };
    const condOf = (el: Element) => /\bcond-([a-z_]+)/.exec(el.className)?.[1] ?? '';
    const legend: Record<string, Look> = {};
    for (const swatch of document.querySelectorAll('.legend .swatch')) legend[condOf(swatch)] = look(swatch);
    const grid = document.querySelector('.locker') as HTMLElement;
    const drawn: Record<string, Look> = {};
    for (const cell of document.querySelectorAll('.locker .comp'))
      drawn[(cell as HTMLElement).dataset.condition ?? ''] = look(cell);
    const probes: Record<string, Look> = {};
    for (const cond of Object.keys(legend).concat(Object.keys(drawn))) {
      const probe = document.createElement('a');
      probe.className = `comp cond-${cond}`;
      probe.textContent = '9';
      grid.append(probe);
      probes[cond] = look(probe);
      probe.remove();
    }
    return { legend, drawn, probes };
  }) as Promise<{ legend: Record<string, Look>; drawn: Record<string, Look>; probes: Record<string, Look> }>;
}

/** A palette variable of the dashboard's stylesheet, as the browser resolves it. */
function cssVar(page: Page, name: string): Promise<Rgb> {
  return page
    .evaluate((n) => {
      const probe = document.createElement('span');
      probe.style.color = `var(${n})`;
      document.body.append(probe);
      const c = getComputedStyle(probe).color;
      probe.remove();
      return c;
    }, name)
    .then(rgb);
}

let t: TestHub;
let town: SimLocker;
let browser: Browser;
let base: string;
const clock = Date.now();
const pages: Array<{ page: Page; errors: string[] }> = [];
let desk: Page;
/**
 * Doors of town-16 in each situation the tests set up. town-24 only shows its front: on two lock
 * boards, the simulated board reports door 1 opened as door 17 (same channel, other board).
 */
const doors = { reserved: 0, occupied: 0, depositing: 0, remote: 0, forced: 0, sensor: 0 };

async function parcel(): Promise<{ id: string; door: number; depositCode: string }> {
  const created = await t.api(
    'POST',
    '/api/v1/parcels',
    { lockerId: 'town-16', size: 'S', temperatureClass: 'ambient', recipient: { name: 'Marie Curie' } },
    t.integration,
  );
  expect(created.status).toBe(201);
  return {
    id: created.body.parcel.id,
    door: created.body.parcel.door,
    depositCode: created.body.depositCode,
  };
}

beforeAll(async () => {
  t = await startTestHub({ now: () => clock, flushMs: 10 });
  base = `http://127.0.0.1:${t.hub.httpPort}`;
  town = await t.locker({ site: 'bourg', locker: 'town-16' }, 'town-locker-16');
  await t.locker({ site: 'bourg', locker: 'town-24' }, 'town-locker-24');

  // Goods in one door (occupied), one door reserved for a parcel on its way.
  const stored = await parcel();
  doors.occupied = stored.door;
  let unlocked = waitFor(town, 'unlocked');
  town.pressCode(stored.depositCode);
  await unlocked;
  town.openDoor(stored.door);
  town.closeDoor(stored.door);
  await eventually(async () =>
    ['stored', 'ready'].includes((await t.api('GET', `/api/v1/parcels/${stored.id}`)).body.state),
  );
  doors.reserved = (await parcel()).door;
  // A producer's code typed, the door released and not opened yet.
  const depositing = await parcel();
  doors.depositing = depositing.door;
  unlocked = waitFor(town, 'unlocked');
  town.pressCode(depositing.depositCode);
  await unlocked;
  // An operator's remote open that nobody followed.
  const locker = (await t.api('GET', '/api/v1/lockers/town-16')).body;
  const free = locker.compartments.filter((c: { parcel: unknown }) => !c.parcel);
  doors.remote = free[0].door;
  doors.forced = free[1].door;
  doors.sensor = locker.compartments.find((c: { sensor: string | null }) => c.sensor)?.door ?? 1;
  const open = await t.api('POST', `/api/v1/lockers/town-16/compartments/${doors.remote}/open`, {
    reason: 'Customer on the phone, code lost',
  });
  expect(open.status).toBe(202);
  await eventually(
    async () => (await t.api('GET', `/api/v1/commands/${open.body.commandId}`)).body.state === 'done',
  );
  // A door forced open: the front draws it open, or alarmed.
  town.openDoor(doors.forced, { force: true });

  browser = await launchBrowser();
  const first = await operatorPage(browser);
  pages.push(first);
  desk = first.page;
  await signIn(desk, base, t.operator);
});

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('a cabinet front on the dashboard', () => {
  it('gives every condition a legend entry in the colours of its cells, each told apart', async () => {
    await desk.goto(`${base}/#/lockers/town-16`);
    await desk.locator(`[data-door="${doors.forced}"][data-door-state="open"]`).waitFor();
    await desk.locator(`[data-door="${doors.reserved}"][data-condition="reserved"]`).waitFor();
    await screenshot(desk, 'front-town-16');
    const { legend, drawn, probes } = await looks(desk);

    // Every condition has its entry, and so has every condition drawn on this front.
    expect(Object.keys(legend).sort()).toEqual([...CONDITIONS].sort());
    for (const cond of Object.keys(drawn)) expect(CONDITIONS).toContain(cond);
    expect(Object.keys(drawn)).toEqual(expect.arrayContaining(['occupied', 'reserved', 'free']));

    for (const cond of CONDITIONS) {
      const swatch = legend[cond] as Look;
      const cell = probes[cond] as Look;
      // The swatch is the cell in small: same fill, same edge, same kind of edge.
      expect({ cond, ...swatch, color: '' }).toEqual({ cond, ...cell, color: '' });
      if (drawn[cond]) expect({ cond, ...(drawn[cond] as Look) }).toEqual({ cond, ...cell });
      // The cell's words are readable on its fill (WCAG AA).
      expect(contrast(rgb(cell.color), rgb(cell.background)), cond).toBeGreaterThanOrEqual(4.5);
    }
    // No two conditions look alike; reserved and free differ by their fill, not only by an edge.
    const seen = new Map<string, string>();
    for (const cond of CONDITIONS) {
      const s = legend[cond] as Look;
      const key = `${s.background}|${s.border}|${s.borderStyle}`;
      expect(seen.get(key), `${cond} looks like ${seen.get(key)}`).toBeUndefined();
      seen.set(key, cond);
    }
    const reserved = rgb((legend.reserved as Look).background);
    const free = rgb((legend.free as Look).background);
    expect(distance(reserved, free)).toBeGreaterThanOrEqual(30);
  });

  it('rings the selected door in a selection colour, not a warning colour, visible on the cabinet', async () => {
    await desk.goto(`${base}/#/lockers/town-16/${doors.occupied}`);
    const selected = desk.locator(`[data-door="${doors.occupied}"][aria-current="true"]`);
    await selected.waitFor();
    const ring = await selected.evaluate((el) => {
      const s = getComputedStyle(el);
      const grid = getComputedStyle(el.closest('.locker') as Element);
      return {
        color: s.outlineColor,
        style: s.outlineStyle,
        width: Number.parseFloat(s.outlineWidth),
        grid: grid.backgroundColor,
      };
    });
    expect(ring.style).toBe('solid');
    expect(ring.width).toBeGreaterThanOrEqual(3);
    const colour = rgb(ring.color);
    for (const name of ['--warning', '--warning-bg', '--critical', '--critical-bg'])
      expect(distance(colour, await cssVar(desk, name)), name).toBeGreaterThan(60);
    // Not amber, orange or yellow: the colours a warning is drawn in.
    const { hue, sat } = hueSat(colour);
    expect(sat > 0.3 && hue >= 15 && hue <= 70, `hue ${hue.toFixed(0)}°`).toBe(false);
    // Not the fill or edge of any condition, so a selected door never reads as a state.
    const { probes } = await looks(desk);
    for (const [cond, look] of Object.entries(probes)) {
      expect(distance(colour, rgb(look.background)), `${cond} fill`).toBeGreaterThan(40);
      expect(distance(colour, rgb(look.border)), `${cond} edge`).toBeGreaterThan(40);
    }
    // Seen against the cabinet's body (WCAG 1.4.11: 3:1 for what identifies a control's state).
    expect(contrast(colour, rgb(ring.grid))).toBeGreaterThanOrEqual(3);
    await screenshot(desk, 'front-selected');
  });

  it("says in an operator's words what an opening in progress is for", async () => {
    await desk.goto(`${base}/#/lockers/town-16/${doors.remote}`);
    const lock = () =>
      desk.evaluate(
        () =>
          [...document.querySelectorAll('.facts dt')].find((dt) => dt.textContent === 'Lock')
            ?.nextElementSibling?.textContent,
      );
    await expect.poll(lock).toBe('unlocked remotely by an operator');
    await desk.getByRole('button', { name: 'Give up this opening…' }).click();
    const dialog = desk.getByRole('dialog');
    await dialog.waitFor();
    const said = (await dialog.textContent()) ?? '';
    expect(said).toContain(
      `Door ${doors.remote} was unlocked remotely by an operator, and nobody has opened it`,
    );
    await screenshot(desk, 'front-give-up');
    await dialog.getByRole('button', { name: 'Back' }).click();

    await desk.goto(`${base}/#/lockers/town-16/${doors.depositing}`);
    await expect.poll(lock).toBe('unlocked for the producer to deposit the goods');
    const cell = desk.locator(`[data-door="${doors.depositing}"]`);
    expect(await cell.locator('.comp-state').textContent()).toBe('Closed · unlocked');
    // Nowhere on the page an article before a vowel ("a operator"), nor "released for a … opening".
    const text = (await desk.locator('main').textContent()) ?? '';
    expect(text).not.toMatch(/\ba [aeio]/i);
    expect(text).not.toMatch(/released for/);
  });

  it("colours a parcel's state badge by its state, readably", async () => {
    await desk.goto(`${base}/#/parcels`);
    await desk.locator('.badge-state-stored, .badge-state-ready').first().waitFor();
    await desk.locator('.badge-state-reserved').first().waitFor();
    // Each styled state drawn for a moment, as the lists draw it.
    const badges = (await desk.evaluate(() => {
      const out: Record<string, { background: string; color: string }> = {};
      for (const state of ['reserved', 'in_transit', 'stored', 'ready', 'quarantined', 'picked_up']) {
        const probe = document.createElement('span');
        probe.className = `badge badge-state-${state}`;
        probe.textContent = state;
        document.body.append(probe);
        const s = getComputedStyle(probe);
        out[state] = { background: s.backgroundColor, color: s.color };
        probe.remove();
      }
      return out;
    })) as Record<string, { background: string; color: string }>;
    for (const [state, b] of Object.entries(badges))
      expect(contrast(rgb(b.color), rgb(b.background)), state).toBeGreaterThanOrEqual(4.5);
    // Goods waiting in the locker, goods coming, goods held: three fills, not one grey for all.
    const fills = new Set(['reserved', 'stored', 'quarantined'].map((k) => badges[k]?.background));
    expect(fills.size).toBe(3);
  });

  for (const [locker, label] of [
    ['town-24', 'town-locker-24'],
    ['town-16', 'town-locker-16'],
  ] as const) {
    it(`fits a ${label} front on a 390 px phone, its doors large enough to touch`, async () => {
      const phone = await operatorPage(browser, { width: 390, height: 844 });
      pages.push(phone);
      const { page } = phone;
      await signIn(page, base, t.operator);
      await page.goto(`${base}/#/lockers/${locker}`);
      await page.locator('.locker .comp').first().waitFor();
      await screenshot(page, `phone-${locker}`);
      const measure = () =>
        page.evaluate(() => {
          const grid = document.querySelector('.locker') as HTMLElement;
          const cells = [...document.querySelectorAll<HTMLElement>('.locker .comp')].map((c) => {
            const r = c.getBoundingClientRect();
            return {
              door: c.dataset.door,
              width: r.width,
              height: r.height,
              spills: c.scrollWidth > c.clientWidth + 1,
            };
          });
          return {
            page: document.documentElement.scrollWidth,
            grid: grid.scrollWidth - grid.clientWidth,
            cells,
          };
        });
      const front = await measure();
      expect(front.page).toBeLessThanOrEqual(390);
      // The whole front is seen at once: no scrolling the cabinet sideways either.
      expect(front.grid).toBeLessThanOrEqual(0);
      for (const c of front.cells) {
        expect(c.width, `door ${c.door} width`).toBeGreaterThanOrEqual(40);
        expect(c.height, `door ${c.door} height`).toBeGreaterThanOrEqual(40);
        expect(c.spills, `door ${c.door}'s words spill out of it`).toBe(false);
      }
      // With a door's details open under the front.
      const door = locker === 'town-16' ? doors.sensor : 1;
      await page.goto(`${base}/#/lockers/${locker}/${door}`);
      await page.getByRole('heading', { name: `Door ${door}` }).waitFor();
      await screenshot(page, `phone-${locker}-door`);
      expect((await measure()).page).toBeLessThanOrEqual(390);
    });
  }

  it('logged no script error on any page', () => {
    expect(pages.flatMap((p) => p.errors)).toEqual([]);
  });
});
