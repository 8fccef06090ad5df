/**
 * Alarms by e-mail, escalated: a real SMTP server (npm's smtp-server) on a loopback port receives
 * what the hub sends; the hub's clock is the test's, so the escalation delays pass at a tick.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SimLocker } from '../../cli/sim-locker.ts';
import { eventually, startTestHub, type TestHub } from '../helpers/hub.ts';

const MIN = 60_000;
let t: TestHub;
let box: SimLocker;
let clock: number;
let smtp: SMTPServer;
let mails: Array<{ to: string; subject: string; body: string }>;
let refuse = 0;

beforeEach(async () => {
  clock = Date.UTC(2026, 11, 7, 6, 0);
  mails = [];
  refuse = 1; // the server turns the first message away: the hub tries again
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, done) {
      let raw = '';
      stream.on('data', (d: Buffer) => {
        raw += d.toString();
      });
      stream.on('end', () => {
        if (refuse-- > 0) {
          done(Object.assign(new Error('try again later'), { responseCode: 451 }));
          return;
        }
        // A long subject is folded over several lines (RFC 5322 §2.2.3): unfolded here.
        const subject = (/^Subject: (.*(?:\r?\n[ \t].*)*)/m.exec(raw)?.[1] ?? '').replace(/\r?\n[ \t]/g, ' ');
        for (const r of session.envelope.rcptTo) mails.push({ to: r.address, subject, body: raw });
        done();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
  const port = (smtp.server.address() as AddressInfo).port;
  t = await startTestHub({
    now: () => clock,
    manualTicks: true,
    smtp: { url: `smtp://127.0.0.1:${port}`, from: 'casier <alarms@ferme.example>' },
  });
  box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
});
afterEach(async () => {
  await t.close();
  await new Promise<void>((r) => smtp.close(() => r()));
});

const about = (kind: string) => mails.filter((m) => m.subject.toLowerCase().includes(kind));

describe('alarm e-mails', () => {
  it('reach the first contact at once, the next ones while nobody acknowledges, nobody after', async () => {
    const set = await t.api('PUT', '/api/v1/sites/ferme/alarm-contacts', {
      contacts: [
        { email: 'farmer@ferme.example', afterMinutes: 0 },
        { email: 'manager@ferme.example', afterMinutes: 30 },
        { email: 'director@ferme.example', afterMinutes: 60 },
      ],
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect((await t.api('GET', '/api/v1/sites/ferme/alarm-contacts')).body.contacts).toHaveLength(3);
    let sent = 0;
    for (let m = 0; m < 12; m++) {
      clock += MIN;
      await box.telemetry([{ sensor: 't1', c: 12 }]);
      sent++;
      await t.ticked(() => t.hub.db.prepare('SELECT count(*) FROM readings').pluck().get() === sent);
    }
    // The first attempt is refused (451); a minute on, the retry goes through.
    clock += MIN;
    await t.hub.tick();
    await t.hub.tick();
    expect(about('temperature high').map((m) => m.to)).toEqual(['farmer@ferme.example']);
    expect(about('temperature high')[0]?.subject).toMatch(
      /\[casier\] critical: Temperature high at ferme\/box-1 \(t1\)/,
    );
    expect(about('temperature high')[0]?.body).toMatch(/Acknowledge it on the dashboard/);
    clock += 30 * MIN;
    await t.hub.tick();
    await eventually(() => about('temperature high').length === 2, 5000, 'the escalation');
    expect(about('temperature high')[1]).toMatchObject({ to: 'manager@ferme.example' });
    expect(about('temperature high')[1]?.subject).toMatch(/unacknowledged for 30 min/);
    // Acknowledged: the director is not written to.
    const alarm = (
      (await t.api('GET', '/api/v1/alarms?kind=temperature_high')).body.alarms as Array<{
        id: string;
        level: string;
      }>
    ).find((a) => a.level === 'critical') as { id: string };
    expect((await t.api('POST', `/api/v1/alarms/${alarm.id}/ack`, { comment: 'on my way' })).status).toBe(
      200,
    );
    clock += 40 * MIN;
    await t.hub.tick();
    await t.hub.tick();
    expect(about('temperature high')).toHaveLength(2);
    const ledger = t.hub.db
      .prepare(`SELECT count(*) FROM events WHERE type = 'alarm.mailed'`)
      .pluck()
      .get() as number;
    expect(ledger).toBe(mails.length);
  });

  it('tell the first contact of an alarm learnt late, one already over too, and escalate from when the hub learnt of it', async () => {
    await t.api('PUT', '/api/v1/sites/ferme/alarm-contacts', {
      contacts: [
        { email: 'farmer@ferme.example', afterMinutes: 0 },
        { email: 'manager@ferme.example', afterMinutes: 30 },
      ],
    });
    // A cabinet back from a two-hour outage sends its buffered readings at once: t1 was at +12 °C
    // for 20 minutes then back at +3 °C (critical, over by now), t2 at +12 °C throughout (critical
    // then warning, still on).
    clock -= 130 * MIN; // it started (and announced its boot) before the outage
    let cabinetTime = clock;
    const far = await t.locker({ site: 'ferme', locker: 'box-2' }, 'rural-box-8', { now: () => cabinetTime });
    const before = clock;
    clock += 130 * MIN;
    for (let m = 0; m < 120; m++) {
      cabinetTime = before + 5 * MIN + m * MIN;
      await far.telemetry([
        { sensor: 't1', c: m < 20 ? 12 : 3 },
        { sensor: 't2', c: 12 },
      ]);
    }
    const stored = t.hub.db.prepare(`SELECT count(*) FROM readings WHERE locker_id = 'box-2'`).pluck();
    await t.ticked(() => stored.get() === 240, 10_000, 'the backlog stored');
    await t.hub.tick();
    clock += MIN; // the first attempt was refused (451): retried a minute on
    await t.hub.tick();
    const to = (who: string) => about('temperature high').filter((m) => m.to === who);
    expect(
      to('farmer@ferme.example')
        .map((m) => /\((t\d)\)/.exec(m.subject)?.[1])
        .sort(),
    ).toEqual(['t1', 't2', 't2']);
    // Escalation counts from when the hub learnt of the alarms, not from when they rose 2 hours ago.
    expect(to('manager@ferme.example')).toEqual([]);
    clock += 30 * MIN;
    await t.hub.tick();
    await eventually(() => to('manager@ferme.example').length > 0, 5000, 'the escalation');
    await t.hub.tick();
    // Only about what is still going on: t2's alarms (t1's ended before anyone could act).
    expect(to('manager@ferme.example').map((m) => /\((t\d)\)/.exec(m.subject)?.[1])).toEqual(['t2', 't2']);
  });

  it('write about alarms raised after the contacts were set, not, after a restart, about older ones', async () => {
    // t1 at +12 °C: a critical alarm, still open; t2 warm, then back: an alarm raised and cleared.
    for (let m = 0; m < 24; m++) {
      clock += MIN;
      await box.telemetry([
        { sensor: 't1', c: 12 },
        { sensor: 't2', c: m < 12 ? 12 : 3 },
      ]);
      await t.ticked(() => t.hub.db.prepare('SELECT count(*) FROM readings').pluck().get() === 2 * (m + 1));
    }
    expect((await t.api('GET', '/api/v1/alarms?state=all')).body.alarms.length).toBeGreaterThanOrEqual(2);
    await t.api('PUT', '/api/v1/sites/ferme/alarm-contacts', {
      contacts: [{ email: 'farmer@ferme.example', afterMinutes: 0 }],
    });
    clock += MIN;
    await t.hub.tick();
    await t.restart();
    clock += MIN;
    await t.hub.tick();
    clock += MIN;
    await t.hub.tick();
    expect(mails).toEqual([]);
  });
});
