/**
 * What a customer reads: every SMS fits one 160-character GSM segment in both languages once
 * filled in with realistic values (a long farm name, a long month, the link), the e-mail's HTML
 * part carries the link and escapes what it is given.
 */
import { describe, expect, it } from 'vitest';
import { LANGUAGES, when } from '../../devices/index.ts';
import type { NoticeKind } from '../../hub/domain/notify/customer.ts';
import { writeNotice } from '../../hub/domain/notify/customer-texts.ts';
import { gsm7, smsLength } from '../../hub/domain/notify/sms.ts';

const KINDS: NoticeKind[] = ['ready', 'reminder', 'ended', 'rerouted'];
const GSM_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';

const values = (language: 'fr' | 'en') => ({
  name: 'Marie-Hélène Delacroix',
  site: 'Ferme des Trois Chênes',
  locker: 'casier-ouest',
  door: 16,
  // Wednesday 26 August at 18:30 in Paris: a long weekday and month, "août" with its û.
  end: when(Date.UTC(2026, 7, 26, 16, 30), language, 'Europe/Paris'),
  hours: 24,
  from: 'Halle de Villeurbanne',
  link: 'https://casiers.example.fr/c/AbCdEfGhIjKlMnOpQrStUv',
});

describe('a customer’s notice', () => {
  for (const language of LANGUAGES)
    it.each(KINDS)(`in ${language}: the %s SMS fits one GSM segment`, (kind) => {
      const { sms } = writeNotice(kind, language, values(language));
      expect([...sms].filter((c) => !GSM_BASIC.includes(c))).toEqual([]);
      expect(smsLength(sms), sms).toBeLessThanOrEqual(160);
      expect(sms).toContain(values(language).link);
    });

  it('folds what an SMS cannot carry', () => {
    expect(gsm7('Prêt à 18 h, n’est-ce pas ? août, ça… «oui»')).toBe(
      'Pret à 18 h, n\'est-ce pas ? aout, ca... "oui"',
    );
    expect(gsm7('Ω ✓')).toBe('Ω ?');
  });

  it('is written with its plural, and an HTML part that escapes names', () => {
    const one = writeNotice('reminder', 'en', { ...values('en'), hours: 1, name: '<Ada & co>' });
    expect(one.text).toContain('1 hour left to collect it');
    expect(one.html).toContain('Hello &lt;Ada &amp; co&gt;,');
    expect(one.html).toContain(`<a href="${values('en').link}">`);
    expect(writeNotice('reminder', 'fr', { ...values('fr'), hours: 2 }).text).toContain(
      'il vous reste 2 heures pour le retirer',
    );
    expect(writeNotice('reminder', 'fr', { ...values('fr'), hours: 1 }).sms).toContain('(1 heure restante)');
  });
});
