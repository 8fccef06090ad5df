/**
 * The operator's language, and the dashboard's words in it. The operator is a recipient like any
 * other: their choice (the header's selector) is remembered on this device; until they choose, a
 * browser set to French gets French, and any other gets the hub's language (known from the live
 * snapshot). Every text comes from the catalogue (devices/texts/dashboard.ts) through `t()`.
 */
import { isLanguage, type Language, type MessageKey, say } from '../../devices/i18n.ts';

const KEY = 'casier.language';

/** The keys of the dashboard's part of the catalogue. */
export type DashboardKey = Extract<MessageKey, `dashboard.${string}`>;

const stored = (): Language | null => {
  try {
    const v = localStorage.getItem(KEY);
    return isLanguage(v) ? v : null;
  } catch {
    return null;
  }
};

const browserSaysFrench = () => navigator.languages.concat(navigator.language).some((l) => /^fr\b/i.test(l));

let hubLanguage: Language = 'en';
let current: Language = stored() ?? (browserSaysFrench() ? 'fr' : hubLanguage);
const listeners = new Set<() => void>();

function apply(next: Language): void {
  document.documentElement.lang = next;
  document.title = say(next, 'dashboard.title');
  if (next === current) return;
  current = next;
  for (const f of listeners) f();
}

/** The language the dashboard speaks now. */
export const language = (): Language => current;

/** The text of `key` in the operator's language. */
export const t = (key: DashboardKey, values?: Record<string, string | number>): string =>
  say(current, key, values);

/** The operator chose: remembered on this device, whatever the browser or the hub says. */
export function chooseLanguage(next: Language): void {
  try {
    localStorage.setItem(KEY, next);
  } catch {
    // Private browsing without storage: the choice lasts this page.
  }
  apply(next);
}

/** The hub said its language (live snapshot): used while the operator has not chosen. */
export function hubSays(hub: Language): void {
  hubLanguage = hub;
  if (!stored() && !browserSaysFrench()) apply(hubLanguage);
}

export function onLanguage(f: () => void): () => void {
  listeners.add(f);
  return () => listeners.delete(f);
}

apply(current);
