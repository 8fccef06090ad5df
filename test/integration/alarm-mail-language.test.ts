/**
 * A French farm's alarm contacts were written to in English, with the time in UTC and the cold
 * chain's advice ("collect before 06:31 UTC") in an Englishman's clock. They are now written to
 * in their site's language, with its times in its zone.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SimLocker } from '../../cli/sim-locker.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { startInbox } from '../helpers/inbox.ts';

const MIN = 60_000;
let t: TestHub;
let box: SimLocker;
let clock: number;
let inbox: Awaited<ReturnType<typeof startInbox>>;

beforeEach(async () => {
  clock = Date.UTC(2026, 11, 7, 6, 0); // 07:00 in Paris
  // An address the server refuses for good, as a mail server says of a mailbox that is not there.
  inbox = await startInbox((address) =>
    address === 'gone@ferme.example' ? { code: 550, message: 'no such mailbox' } : undefined,
  );
  t = await startTestHub({
    now: () => clock,
    manualTicks: true,
    smtp: { url: inbox.url, from: 'casier <alarms@ferme.example>' },
  });
  box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
});
afterEach(async () => {
  await t.close();
  await inbox.close();
});

/** `sensor` reads `c` once a minute for `n` minutes, each reading stored. */
async function reads(sensor: string, c: number, n: number) {
  const sent = t.hub.db.prepare('SELECT count(*) FROM readings').pluck();
  for (let m = 0; m < n; m++) {
    const before = sent.get() as number;
    clock += MIN;
    await box.telemetry([{ sensor, c }]);
    await t.ticked(() => sent.get() === before + 1);
  }
}

describe('alarm e-mails', () => {
  it('are written in the site’s language, their times and advice in its zone', async () => {
    await t.api('PUT', '/api/v1/sites/ferme/settings', { language: 'fr', timeZone: 'Europe/Paris' });
    await t.api('PUT', '/api/v1/sites/ferme/alarm-contacts', {
      contacts: [{ email: 'farmer@ferme.example', afterMinutes: 0 }],
    });
    // Warming slowly past 4 °C: a warning, with a time to take the goods out by.
    for (const c of [4.5, 4.8, 5.1, 5.4, 5.7, 6.0]) await reads('t1', c, 5);
    await t.ticked(async () => {
      await t.hub.tick();
      return inbox.mails.length > 0;
    });
    const [mail] = inbox.mails;
    expect(mail?.subject).toMatch(
      /^\[casier\] avertissement : Température trop haute à ferme\/box-1 \(t1\)$/,
    );
    expect(mail?.text).toMatch(/^Alarme avertissement : Température trop haute\r?\n/);
    expect(mail?.text).toContain('Casier : ferme/box-1 (t1)');
    // Raised at about 07:20 in Paris, said in French: "lundi 7 décembre 2026 à 07:2x".
    expect(mail?.text).toMatch(/Déclenchée : lundi 7 décembre 2026 (à )?07:2\d/);
    expect(mail?.text).toMatch(/Conseil : sortez les produits avant lundi 7 décembre 2026 (à )?\d\d:\d\d/);
    expect(mail?.text).toContain('Acquittez-la sur le tableau de bord');
    expect(mail?.text).not.toContain('UTC');
  });

  it('give up at once on an address the server refuses for good, as the customers’ notices do', async () => {
    await t.api('PUT', '/api/v1/sites/ferme/alarm-contacts', {
      contacts: [
        { email: 'gone@ferme.example', afterMinutes: 0 },
        { email: 'farmer@ferme.example', afterMinutes: 0 },
      ],
    });
    await reads('t1', 12, 12); // critical
    await t.ticked(async () => {
      await t.hub.tick();
      return inbox.mails.length > 0;
    });
    const state = t.hub.db.prepare(`SELECT state, attempts FROM alarm_mails WHERE email = ?`);
    expect(state.all('gone@ferme.example')).toEqual([{ state: 'failed', attempts: 1 }]);
    expect(
      t.hub.db.prepare(`SELECT count(*) FROM events WHERE type = 'alarm.mail_failed'`).pluck().get(),
    ).toBe(1);
    expect(inbox.mails.map((m) => m.to)).toEqual(['farmer@ferme.example']);
  });
});
