/**
 * The catalogue is complete in every language: each key everywhere, each message parses, and
 * every message takes the same arguments in every language (a translation that drops `{door}`
 * would show a door-less sentence on one site only).
 */
import { type MessageFormatElement, parse, TYPE } from '@formatjs/icu-messageformat-parser';
import { describe, expect, it } from 'vitest';
import {
  CATALOGUE,
  dayAt,
  dayStart,
  isTimeZone,
  LANGUAGES,
  type MessageKey,
  say,
  when,
  zoneOffset,
} from '../../devices/i18n.ts';

function argumentsOf(elements: MessageFormatElement[], into = new Set<string>()): Set<string> {
  for (const e of elements) {
    if (e.type === TYPE.argument || e.type === TYPE.number || e.type === TYPE.date || e.type === TYPE.time)
      into.add(e.value);
    if (e.type === TYPE.plural || e.type === TYPE.select) {
      into.add(e.value);
      for (const option of Object.values(e.options)) argumentsOf(option.value, into);
    }
    if (e.type === TYPE.tag) argumentsOf(e.children, into);
  }
  return into;
}

describe('the message catalogue', () => {
  const keys = Object.keys(CATALOGUE.en) as MessageKey[];

  it.each(LANGUAGES)('has every key in %s, and nothing else', (language) => {
    expect(Object.keys(CATALOGUE[language]).sort()).toEqual([...keys].sort());
  });

  it.each(keys)('%s parses and takes the same arguments in every language', (key) => {
    const [first, ...others] = LANGUAGES.map((l) => [...argumentsOf(parse(CATALOGUE[l][key]))].sort());
    for (const other of others) expect(other).toEqual(first);
  });

  it('fills arguments and follows each language’s plural rules', () => {
    expect(say('en', 'keypad.door_open', { door: 3 })).toBe('Door 3 open');
    expect(say('fr', 'keypad.door_open', { door: 3 })).toBe('Porte 3 ouverte');
    expect(say('en', 'driver.collect', { doors: 1 })).toBe('Collect: 1 door open');
    expect(say('en', 'driver.collect', { doors: 2 })).toBe('Collect: 2 doors open');
    expect(say('fr', 'driver.collect', { doors: 1 })).toBe('Collecte : 1 porte ouverte');
    expect(say('fr', 'driver.collect', { doors: 2 })).toBe('Collecte : 2 portes ouvertes');
    // French counts 0 as singular, English as plural.
    expect(say('fr', 'driver.collect', { doors: 0 })).toBe('Collecte : 0 porte ouverte');
    expect(say('en', 'driver.collect', { doors: 0 })).toBe('Collect: 0 doors open');
  });

  it('writes a moment in the reader’s language and the site’s time zone', () => {
    const at = Date.UTC(2026, 11, 5, 13, 5); // Saturday 5 December 2026, 13:05 UTC
    expect(when(at, 'fr', 'Europe/Paris', 'short')).toBe('14:05');
    expect(when(at, 'en', 'UTC', 'short')).toBe('13:05');
    expect(when(at, 'fr', 'Europe/Paris')).toBe('sam. 5 déc., 14:05');
    expect(when(at, 'en', 'America/Cayenne')).toBe('Sat 5 Dec, 10:05');
    expect(isTimeZone('Europe/Paris')).toBe(true);
    expect(isTimeZone('Europe/Lyon')).toBe(false);
  });

  it('finds where a day starts and ends at a place, across a change of the clocks', () => {
    expect(dayStart('2026-12-05', 'UTC')).toBe(Date.UTC(2026, 11, 5));
    expect(dayStart('2026-12-05', 'Europe/Paris')).toBe(Date.UTC(2026, 11, 4, 23));
    expect(dayStart('2026-07-05', 'Europe/Paris')).toBe(Date.UTC(2026, 6, 4, 22));
    expect(dayStart('2026-12-05', 'America/Cayenne')).toBe(Date.UTC(2026, 11, 5, 3));
    // Paris went to summer time on 29 March 2026: a day of 23 hours; back on 25 October: 25 hours.
    expect(dayStart('2026-03-30', 'Europe/Paris') - dayStart('2026-03-29', 'Europe/Paris')).toBe(
      23 * 3_600_000,
    );
    expect(dayStart('2026-10-26', 'Europe/Paris') - dayStart('2026-10-25', 'Europe/Paris')).toBe(
      25 * 3_600_000,
    );
    expect(dayAt(Date.UTC(2026, 11, 4, 23, 30), 'Europe/Paris')).toBe('2026-12-05');
    expect(dayAt(Date.UTC(2026, 11, 4, 23, 30), 'UTC')).toBe('2026-12-04');
    expect(zoneOffset(Date.UTC(2026, 6, 1), 'Asia/Kathmandu')).toBe((5 * 60 + 45) * 60_000);
  });
});
