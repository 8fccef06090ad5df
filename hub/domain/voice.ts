/**
 * What a cabinet and a site say, in its site's language: the site's own (`sites.language`, set
 * with its settings) or the hub's (`--language`); and the time zone its people read times in
 * (`sites.time_zone`, or the hub's `--time-zone`). Texts are formatted from devices/i18n.ts's
 * catalogue.
 */
import { type Language, type MessageKey, type Phrase, say, when } from '../../devices/index.ts';
import { cached, type Db } from '../db/open.ts';

export interface SiteLocale {
  language: Language;
  timeZone: string;
}

export class Voice {
  constructor(
    private readonly db: Db,
    /** The hub's language, for sites that have none of their own. */
    readonly fallback: Language = 'en',
    /** The hub's time zone, for sites that have none of their own. */
    readonly fallbackTimeZone = 'UTC',
  ) {}

  languageOf(lockerId: string): Language {
    return this.ofLocker(lockerId).language;
  }

  /** A cabinet's site's language and time zone. */
  ofLocker(lockerId: string): SiteLocale {
    const own = cached(
      this.db,
      'SELECT s.language, s.time_zone FROM sites s JOIN lockers l ON l.site_id = s.id WHERE l.id = ?',
    ).get(lockerId) as { language: Language | null; time_zone: string | null } | undefined;
    return { language: own?.language ?? this.fallback, timeZone: own?.time_zone ?? this.fallbackTimeZone };
  }

  /** A site's language and time zone. */
  ofSite(siteId: string): SiteLocale {
    const own = cached(this.db, 'SELECT language, time_zone FROM sites WHERE id = ?').get(siteId) as
      | { language: Language | null; time_zone: string | null }
      | undefined;
    return { language: own?.language ?? this.fallback, timeZone: own?.time_zone ?? this.fallbackTimeZone };
  }

  /** The text of a message at this cabinet. */
  say(lockerId: string, m: Phrase | MessageKey, values?: Phrase['values']): string {
    const { key, values: v } = typeof m === 'string' ? { key: m, values } : m;
    return say(this.languageOf(lockerId), key, v);
  }

  /** A moment as this cabinet's site reads it (devices/i18n.ts `when`). */
  when(lockerId: string, ms: number, style?: 'short' | 'day' | 'full'): string {
    const { language, timeZone } = this.ofLocker(lockerId);
    return when(ms, language, timeZone, style);
  }
}
