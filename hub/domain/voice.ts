/**
 * What a cabinet says, in its site's language: the site's own (`sites.language`, set with its
 * settings) or the hub's (`--language`). Texts are formatted from devices/i18n.ts's catalogue.
 */
import { type Language, type MessageKey, type Phrase, say } from '../../devices/index.ts';
import { cached, type Db } from '../db/open.ts';

export class Voice {
  constructor(
    private readonly db: Db,
    /** The hub's language, for sites that have none of their own. */
    readonly fallback: Language = 'en',
  ) {}

  languageOf(lockerId: string): Language {
    const own = cached(
      this.db,
      'SELECT s.language FROM sites s JOIN lockers l ON l.site_id = s.id WHERE l.id = ?',
      'pluck',
    ).get(lockerId) as Language | null | undefined;
    return own ?? this.fallback;
  }

  /** The text of a message at this cabinet. */
  say(lockerId: string, m: Phrase | MessageKey, values?: Phrase['values']): string {
    const { key, values: v } = typeof m === 'string' ? { key: m, values } : m;
    return say(this.languageOf(lockerId), key, v);
  }
}
