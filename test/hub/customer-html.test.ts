/**
 * The customer's page as written (hub/api/customer-html.ts): a journey with time nobody watched
 * says so, in plain words, and nothing a platform or a site wrote can become markup.
 */
import { describe, expect, it } from 'vitest';
import { duration, renderParcelPage } from '../../hub/api/customer-html.ts';
import type { ParcelPageView } from '../../hub/domain/parcel-page.ts';

const MIN = 60_000;

const collected = (over: Partial<ParcelPageView> = {}): ParcelPageView => ({
  parcelId: 'P-1',
  reference: null,
  language: 'en',
  timeZone: 'UTC',
  stage: 'collected',
  site: { id: 'lyon', name: 'Lyon Croix-Rousse' },
  lockerId: 'town-1',
  door: null,
  pickupExpiresAt: null,
  pickedUpAt: Date.UTC(2026, 11, 7, 15, 12),
  extend: null,
  canReveal: false,
  deposited: true,
  journey: null,
  ...over,
});

const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');

describe('the journey on the customer’s page', () => {
  it('states the time in a van and without readings, and does not call it in range', () => {
    const html = renderParcelPage(
      collected({
        journey: {
          min: 1.5,
          max: 3.9,
          watchedMs: (26 * 60 + 5) * MIN,
          vanMs: 95 * MIN,
          unwatchedMs: 12 * MIN,
          outOfRangeMs: 0,
          range: { min: 0, max: 4 },
          verdict: 'unknown',
        },
      }),
    );
    const said = text(html);
    expect(said).toContain('Kept between 1.5 and 3.9 °C for 1 day 2 h 5 min.');
    expect(said).toContain('Besides, 1 h 35 min in a van between lockers, where no sensor watched it.');
    expect(said).toContain('Besides, 12 min in a locker without a temperature reading.');
    expect(said).toContain('we cannot vouch for the time no sensor watched it');
    expect(said).not.toContain('the whole time');
  });

  it('says how long a parcel was out of its limits, with its own limits', () => {
    const html = renderParcelPage(
      collected({
        language: 'fr',
        journey: {
          min: -19.5,
          max: -14.2,
          watchedMs: 3 * 60 * MIN,
          vanMs: 0,
          unwatchedMs: 0,
          outOfRangeMs: 8 * MIN,
          range: { min: null, max: -18 },
          verdict: 'excursion',
        },
      }),
    );
    expect(text(html)).toContain(
      'Il est resté 8 min hors de ses limites (au plus -18,0 °C), trop peu pour être retenu.',
    );
  });

  it('writes durations with each language’s plurals', () => {
    expect(duration(6 * 60 * MIN + 12 * MIN, 'en')).toBe('6 h 12 min');
    expect(duration(3 * 1440 * MIN + 60 * MIN, 'fr')).toBe('3 jours 1 h 0 min');
    expect(duration(1440 * MIN + 5 * MIN, 'fr')).toBe('1 jour 5 min');
    expect(duration(40_000, 'en')).toBe('1 min');
    // Twenty seconds unwatched in a van are not "0 min".
    expect(duration(20_000, 'fr')).toBe('moins d’une minute');
    expect(duration(20_000, 'en')).toBe('less than a minute');
    expect(duration(0, 'en')).toBe('0 min');
  });
});

describe('what others wrote on the page', () => {
  it('is escaped: a reference or a site name never becomes markup', () => {
    const html = renderParcelPage(
      collected({
        stage: 'ready',
        reference: '<script>alert(1)</script>',
        site: { id: 'x', name: '"><img src=x onerror=alert(1)>' },
        door: 3,
        pickupExpiresAt: Date.UTC(2026, 11, 8),
      }),
      { code: '<b>12345678</b>' },
    );
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>1234');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });
});
