/**
 * Every text casier shows a person, in one catalogue per language: ICU messages, formatted by
 * FormatJS's intl-messageformat (plurals and numbers by the language's own rules, Intl under it).
 * The hub, the bridge and the dashboard say the same thing the same way; a key missing in one
 * language, or a message whose arguments differ between languages, fails test/devices/i18n.test.ts.
 *
 * The catalogue is kept in one file per audience (devices/texts/): the cabinets, the dashboard,
 * alarms' e-mails, the customer's page, the notices sent to customers and the parcels' labels.
 * Keys start with their file's name.
 */
import { IntlMessageFormat } from 'intl-messageformat';
import * as alarms from './texts/alarms.ts';
import * as dashboard from './texts/dashboard.ts';
import * as keypad from './texts/keypad.ts';
import * as label from './texts/label.ts';
import * as notices from './texts/notices.ts';
import * as page from './texts/page.ts';

export const LANGUAGES = ['fr', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

const en = { ...keypad.en, ...dashboard.en, ...alarms.en, ...page.en, ...notices.en, ...label.en };
export type MessageKey = keyof typeof en;
const fr: Record<MessageKey, string> = {
  ...keypad.fr,
  ...dashboard.fr,
  ...alarms.fr,
  ...page.fr,
  ...notices.fr,
  ...label.fr,
};

/** A text not yet in a language: what to say, said where the listener's language is known. */
export interface Phrase {
  key: MessageKey;
  values?: Record<string, string | number>;
}

export const CATALOGUE: Readonly<Record<Language, Readonly<Record<MessageKey, string>>>> = { en, fr };

/** Whether `key` is in the catalogue: a word the hub gives (a kind, a state) may not be. */
export function isMessageKey(key: string): key is MessageKey {
  return Object.hasOwn(en, key);
}

export function isLanguage(v: unknown): v is Language {
  return (LANGUAGES as readonly unknown[]).includes(v);
}

const compiled = new Map<string, IntlMessageFormat>();

/** The text of `key` in `language`, its arguments filled in. */
export function say(
  language: Language,
  key: MessageKey,
  values: Record<string, string | number> = {},
): string {
  const id = `${language}\u0000${key}`;
  let m = compiled.get(id);
  if (!m) {
    m = new IntlMessageFormat(CATALOGUE[language][key], language);
    compiled.set(id, m);
  }
  return String(m.format(values));
}

/** The IANA time zone a hub runs in when none is given: the machine's own. */
export const machineTimeZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** Whether `tz` is a time zone this runtime knows (`Europe/Paris`, `UTC`). */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const dateFormats = new Map<string, Intl.DateTimeFormat>();

/**
 * A moment as a person at a site reads it: in the site's time zone and the reader's language.
 * `short` is the time alone ("14:05"), `day` the date and time ("sam. 5 déc., 14:05"), `full` the
 * full date and time with the zone's name when it is not obvious from the place.
 */
export function when(
  ms: number,
  language: Language,
  timeZone: string,
  style: 'short' | 'day' | 'full' = 'day',
): string {
  const id = `${language}\u0000${timeZone}\u0000${style}`;
  let f = dateFormats.get(id);
  if (!f) {
    const options: Intl.DateTimeFormatOptions =
      style === 'short'
        ? { hour: '2-digit', minute: '2-digit' }
        : style === 'day'
          ? { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' }
          : { dateStyle: 'full', timeStyle: 'short' };
    f = new Intl.DateTimeFormat(language === 'fr' ? 'fr-FR' : 'en-GB', { ...options, timeZone });
    dateFormats.set(id, f);
  }
  return f.format(ms);
}

const offsetFormats = new Map<string, Intl.DateTimeFormat>();

/** How far `timeZone`'s clocks are ahead of UTC at `ms` (ms; negative west of Greenwich). */
export function zoneOffset(ms: number, timeZone: string): number {
  let f = offsetFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    offsetFormats.set(timeZone, f);
  }
  const part: Record<string, number> = {};
  for (const p of f.formatToParts(ms)) if (p.type !== 'literal') part[p.type] = Number(p.value);
  const local = Date.UTC(
    part.year as number,
    (part.month as number) - 1,
    part.day as number,
    part.hour as number,
    part.minute as number,
    part.second as number,
  );
  return local - (ms - (((ms % 1000) + 1000) % 1000));
}

/**
 * The start of a calendar day (`YYYY-MM-DD`) at a place: midnight there, as UTC ms. A day there
 * lasts until the next one's start: 23 or 25 hours when the clocks change.
 */
export function dayStart(date: string, timeZone: string): number {
  const naive = Date.parse(`${date}T00:00:00Z`);
  // The offset at midnight there is the offset at the instant found with a first guess; a second
  // pass settles a guess that fell on the other side of a change of the clocks.
  const first = naive - zoneOffset(naive, timeZone);
  return naive - zoneOffset(first, timeZone);
}

/** The calendar day (`YYYY-MM-DD`) it is at a place at `ms`. */
export function dayAt(ms: number, timeZone: string): string {
  return new Date(ms + zoneOffset(ms, timeZone)).toISOString().slice(0, 10);
}
