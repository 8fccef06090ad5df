/**
 * Every text casier shows a person, in one catalogue per language: ICU messages, formatted by
 * FormatJS's intl-messageformat (plurals and numbers by the language's own rules, Intl under it).
 * The hub, the bridge and the dashboard say the same thing the same way; a key missing in one
 * language, or a message whose arguments differ between languages, fails test/devices/i18n.test.ts.
 *
 * Keypad texts are short: a cabinet's character display has 16 to 20 columns, so keep them to
 * about 24 characters (the kiosk page wraps, a two-line LCD scrolls).
 */
import { IntlMessageFormat } from 'intl-messageformat';

export const LANGUAGES = ['fr', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

const en = {
  // The keypad, when a code is typed (hub/domain/keypad.ts; the bridge offline).
  'keypad.door_open': 'Door {door} open',
  'keypad.invalid': 'Invalid code',
  'keypad.throttled': 'Too many attempts, wait',
  'keypad.expired': 'Code expired',
  'keypad.not_yet_valid': 'Code not valid yet',
  'keypad.quarantined': 'Parcel held: temperature',
  'keypad.busy': 'Door in use, try again',
  'keypad.goods_left': 'Goods still inside',
  'keypad.nothing_in': 'Nothing deposited',
  // The keypad to a driver (hub/domain/transit.ts).
  'driver.collect': '{doors, plural, one {Collect: # door open} other {Collect: # doors open}}',
  'driver.deliver': '{parcels, plural, one {Scan # parcel to deliver} other {Scan # parcels to deliver}}',
  'driver.nothing': 'Nothing for you here',
  'driver.check_parcel': 'Check this parcel',
  'driver.full_use': 'Full: use locker {locker}',
  'driver.full_call': 'Full: call the operator',
  // The kiosk page on the Pi's touchscreen (firmware-bridge/kiosk).
  'kiosk.idle': 'Enter your code',
  'kiosk.keypad': 'Keypad',
  'kiosk.entered': 'Code entered',
  'kiosk.clear': 'Clear',
  'kiosk.out_of_order': 'Out of order, sorry',
} as const;

export type MessageKey = keyof typeof en;

const fr: Record<MessageKey, string> = {
  'keypad.door_open': 'Porte {door} ouverte',
  'keypad.invalid': 'Code invalide',
  'keypad.throttled': 'Trop d’essais, patientez',
  'keypad.expired': 'Code expiré',
  'keypad.not_yet_valid': 'Code pas encore valable',
  'keypad.quarantined': 'Colis retenu : température',
  'keypad.busy': 'Porte occupée, réessayez',
  'keypad.goods_left': 'Colis encore dedans',
  'keypad.nothing_in': 'Rien n’a été déposé',
  'driver.collect': '{doors, plural, one {Collecte : # porte ouverte} other {Collecte : # portes ouvertes}}',
  'driver.deliver': '{parcels, plural, one {Scannez # colis à livrer} other {Scannez # colis à livrer}}',
  'driver.nothing': 'Rien pour vous ici',
  'driver.check_parcel': 'Vérifiez ce colis',
  'driver.full_use': 'Plein : casier {locker}',
  'driver.full_call': 'Plein : appelez l’exploitant',
  'kiosk.idle': 'Tapez votre code',
  'kiosk.keypad': 'Clavier',
  'kiosk.entered': 'Code saisi',
  'kiosk.clear': 'Effacer',
  'kiosk.out_of_order': 'Hors service, désolé',
};

/** A text not yet in a language: what to say, said where the listener's language is known. */
export interface Phrase {
  key: MessageKey;
  values?: Record<string, string | number>;
}

export const CATALOGUE: Readonly<Record<Language, Readonly<Record<MessageKey, string>>>> = { en, fr };

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
