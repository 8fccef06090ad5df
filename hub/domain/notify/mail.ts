/**
 * Alarms by e-mail, escalated (docs/operations.md §8): each site has a list of contacts, each
 * with a delay. An alarm reaches the first contact as soon as the hub learns of it (delay 0), the
 * next one if it is still unacknowledged after theirs, and so on, counted from when the hub learnt
 * of it. Once acknowledged or cleared, nobody further is written to.
 *
 * Durable: the mails due are rows (`alarm_mails`), sent over SMTP (nodemailer: STARTTLS, auth and
 * the protocol's corners are not ours to write) and retried with backoff for a day; each sent or
 * given up is in the ledger. Without an SMTP server configured, nothing is queued.
 */
import type { Logger } from 'pino';
import { isMessageKey, type Language, say, when } from '../../../devices/index.ts';
import type { Component } from '../../components.ts';
import { cursor, ledgerEnd, saveCursor, skipToLedgerEnd } from '../../db/cursors.ts';
import type { Ledger } from '../../db/ledger.ts';
import type { Db } from '../../db/open.ts';
import { HubError } from '../../errors.ts';
import type { SiteLocale, Voice } from '../voice.ts';
import {
  backoffMs,
  GIVE_UP_MS,
  type MailConfig,
  type MailTransport,
  refusedForGood,
  smtpTransport,
} from './smtp.ts';

export interface AlarmContact {
  email: string;
  /** Minutes the alarm must stay unacknowledged before this contact is written to. */
  afterMinutes: number;
}

export class AlarmMail implements Component {
  readonly name = 'alarm-mail';
  readonly everyMs = 5_000;
  #transport: MailTransport | undefined;
  #sending = false;

  constructor(
    private readonly db: Db,
    private readonly ledger: Ledger,
    private readonly log: Logger,
    private readonly config: MailConfig | undefined,
    /** The site's language and time zone: its contacts read their alarms in them. */
    private readonly voice: Voice,
    /** Tests pass their own transport (nodemailer's otherwise). */
    transport?: MailTransport,
  ) {
    this.#transport = transport;
  }

  async stop(): Promise<void> {
    this.#transport?.close?.();
  }

  /** A site's contacts, in order. */
  contacts(siteId: string): AlarmContact[] {
    this.#site(siteId);
    return this.db
      .prepare<[string], AlarmContact>(
        'SELECT email, after_minutes AS afterMinutes FROM site_alarm_contacts WHERE site_id = ? ORDER BY after_minutes, n',
      )
      .all(siteId);
  }

  /** Replaces a site's contacts (operator), audited. */
  setContacts(siteId: string, contacts: AlarmContact[], actor: string, now: number): AlarmContact[] {
    this.db
      .transaction(() => {
        this.#site(siteId);
        this.db.prepare('DELETE FROM site_alarm_contacts WHERE site_id = ?').run(siteId);
        const insert = this.db.prepare(
          'INSERT INTO site_alarm_contacts (site_id, n, email, after_minutes) VALUES (?, ?, ?, ?)',
        );
        for (const [n, c] of contacts.entries()) insert.run(siteId, n, c.email, c.afterMinutes);
        this.ledger.append({ ts: now, type: 'site.alarm_contacts', actor, data: { site: siteId, contacts } });
      })
      .immediate();
    return this.contacts(siteId);
  }

  #site(siteId: string): void {
    if (!this.db.prepare('SELECT 1 FROM sites WHERE id = ?').get(siteId))
      throw new HubError('HUB_ERR_SITE_NOT_FOUND', `no site ${siteId}`);
  }

  async tick(now: number): Promise<void> {
    // Nothing is mailed without a server: once one is configured, the alarms from before it are not.
    if (!this.config) return skipToLedgerEnd(this.db, 'alarm-mail');
    this.enqueue(now);
    await this.send(now);
  }

  /**
   * Queues, for each alarm raised since the last round (a ledger cursor, kept in the store), a
   * mail to each contact of its site, due after the contact's delay counted from now: from when
   * the hub learnt of the alarm, not from when it rose (readings replayed after an outage raise
   * alarms hours in the past, and all the escalation would go at once). The first contact is
   * written to even about an alarm over by then (raised and cleared in one backlog); the others
   * only while it stays unacknowledged. A store that never kept the cursor starts from its end.
   */
  enqueue(now: number): number {
    return this.db
      .transaction(() => {
        const last = ledgerEnd(this.db);
        const from = cursor(this.db, 'alarm-mail') ?? last;
        const queued = this.db
          .prepare(
            `INSERT OR IGNORE INTO alarm_mails (alarm_id, email, after_minutes, state, next_attempt_at, created_at)
             SELECT a.id, k.email, k.after_minutes, 'pending', ? + k.after_minutes * 60000, ? FROM events e
             JOIN alarms a ON a.id = json_extract(e.data, '$.id')
             JOIN lockers l ON l.id = a.locker_id
             JOIN site_alarm_contacts k ON k.site_id = l.site_id
             WHERE e.seq > ? AND e.seq <= ? AND e.type = 'alarm.raised'`,
          )
          .run(now, now, from, last).changes;
        saveCursor(this.db, 'alarm-mail', last);
        return queued;
      })
      .immediate();
  }

  /** Sends what is due; an escalation whose alarm was acknowledged or cleared meanwhile is dropped. */
  async send(now: number): Promise<void> {
    if (this.#sending || !this.config) return;
    this.#sending = true;
    try {
      const due = this.db
        .prepare<[number], MailRow>(
          `SELECT m.alarm_id, m.email, m.after_minutes, m.attempts, m.created_at, a.*, l.site_id
           FROM alarm_mails m JOIN alarms a ON a.id = m.alarm_id JOIN lockers l ON l.id = a.locker_id
           WHERE m.state = 'pending' AND m.next_attempt_at <= ? ORDER BY m.created_at LIMIT 50`,
        )
        .all(now);
      for (const m of due) await this.#deliver(m, now);
    } finally {
      this.#sending = false;
    }
  }

  async #deliver(m: MailRow, now: number): Promise<void> {
    const set = (state: string, extra: string, ...args: unknown[]) =>
      this.db
        .prepare(`UPDATE alarm_mails SET state = ?${extra} WHERE alarm_id = ? AND email = ?`)
        .run(state, ...args, m.alarm_id, m.email);
    if ((m.after_minutes > 0 && m.state !== 'raised') || JSON.parse(m.details).withdrawn) {
      // Someone took it on (or it ended) before its turn came; or late readings, judged in their
      // order, did not give it after all.
      set('dropped', '');
      return;
    }
    try {
      this.#transport ??= await smtpTransport(this.config as MailConfig);
      const locale = this.voice.ofSite(m.site_id);
      await this.#transport.sendMail({
        from: (this.config as MailConfig).from,
        to: m.email,
        subject: subject(m, locale),
        text: body(m, locale),
      });
      this.db
        .transaction(() => {
          set('sent', ', sent_at = ?, attempts = attempts + 1', now);
          this.ledger.append({
            ts: now,
            type: 'alarm.mailed',
            actor: 'hub',
            lockerId: m.locker_id,
            data: { id: m.alarm_id, email: m.email, afterMinutes: m.after_minutes },
          });
        })
        .immediate();
    } catch (err) {
      const error = (err as Error).message.slice(0, 300);
      // A server that refused the address for good (5xx) will refuse it tomorrow too.
      if (refusedForGood(err) || now - m.created_at > GIVE_UP_MS) {
        this.db
          .transaction(() => {
            set('failed', ', last_error = ?, attempts = attempts + 1', error);
            this.ledger.append({
              ts: now,
              type: 'alarm.mail_failed',
              actor: 'hub',
              lockerId: m.locker_id,
              data: { id: m.alarm_id, email: m.email, error },
            });
          })
          .immediate();
        return;
      }
      const backoff = backoffMs(m.attempts);
      set('pending', ', last_error = ?, attempts = attempts + 1, next_attempt_at = ?', error, now + backoff);
      this.log.warn({ err, alarm: m.alarm_id, email: m.email }, 'alarm mail failed, will retry');
    }
  }
}

interface MailRow {
  alarm_id: string;
  email: string;
  after_minutes: number;
  attempts: number;
  created_at: number;
  locker_id: string;
  site_id: string;
  sensor: string | null;
  kind: string;
  level: string;
  state: string;
  raised_at: number;
  details: string;
}

/** An alarm's kind and level as the dashboard names them; a kind it does not know, as it is. */
function names(m: MailRow, l: Language): { kind: string; level: string } {
  const named = (key: string, fallback: string) =>
    isMessageKey(key) ? say(l, key) : fallback.replace(/_/g, ' ');
  return {
    kind: named(`dashboard.alarm.${m.kind}`, m.kind),
    level: named(`dashboard.level.${m.level}`, m.level),
  };
}

const place = (m: MailRow) => `${m.site_id}/${m.locker_id}${m.sensor ? ` (${m.sensor})` : ''}`;

function subject(m: MailRow, { language: l }: SiteLocale): string {
  const s = say(l, 'alarms.mail_subject', { ...names(m, l), place: place(m) });
  return m.after_minutes > 0 ? say(l, 'alarms.mail_escalated', { subject: s, minutes: m.after_minutes }) : s;
}

/**
 * The alarm in the site's words and time: what, where, since when, the cold chain's advice (a
 * time to take the goods out by, in the site's zone), then its details as the hub keeps them.
 */
function body(m: MailRow, { language: l, timeZone }: SiteLocale): string {
  const d = JSON.parse(m.details) as Record<string, unknown>;
  const advice =
    typeof d.collectBefore === 'number'
      ? say(l, 'dashboard.advice.collect_before', { time: when(d.collectBefore, l, timeZone, 'full') })
      : 'collectBefore' in d
        ? say(l, 'dashboard.advice.not_warming')
        : null;
  const details = Object.entries(d).filter(([k]) => k !== 'advice' && k !== 'collectBefore');
  return [
    say(l, 'alarms.mail_title', names(m, l)),
    say(l, 'alarms.mail_cabinet', { place: place(m) }),
    say(l, 'alarms.mail_raised', { time: when(m.raised_at, l, timeZone, 'full') }),
    ...(advice ? [say(l, 'alarms.mail_advice', { advice })] : []),
    ...(details.length
      ? [say(l, 'alarms.mail_details'), ...details.map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`)]
      : []),
    '',
    say(l, 'alarms.mail_ack', { id: m.alarm_id }),
  ].join('\n');
}
