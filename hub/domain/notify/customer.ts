/**
 * Notices to customers (docs/operations.md §10): the parcel is ready, its window ends soon, it
 * ended, it was rerouted. Each goes through every configured channel the recipient gave an
 * address for (e-mail, SMS; the platform gets every `parcel.*` event by webhook as before), in the
 * recipient's language or else the pickup site's, times in the site's time zone, with the link to
 * the parcel's page.
 *
 * Driven by the ledger, like the alarm mails: each round reads the entries since its cursor and
 * queues a row per parcel, notice, what it is about and channel, in the transaction that moves the
 * cursor; a crash between the cause and the send loses nothing, and a cause seen twice (a replay,
 * a parcel released twice from quarantine) finds its row and sends nothing more. Rows are sent
 * when due, retried with backoff for a day, unless the channel says the send can never succeed;
 * each sent or failed is a `parcel.notice_sent` / `parcel.notice_failed` ledger entry (without the
 * address: it is personal data, and the ledger is kept for good and signed).
 *
 * What says "ready": a parcel without destination stored by its producer, a travelling one
 * delivered at its destination; never while it is held for the cold chain (it is said when an
 * operator releases it). The reminder follows the lifecycle's `parcel.pickup_reminder`, which
 * comes 24 h before the window ends or half-way through a shorter one, and again before a new end
 * once the window is extended. A notice whose news is stale by the time it can go (a ready parcel
 * picked up, held, or rerouted) is dropped.
 */
import type { Logger } from 'pino';
import { type Language, when } from '../../../devices/index.ts';
import type { Component } from '../../components.ts';
import { cursor, ledgerEnd, saveCursor, skipToLedgerEnd } from '../../db/cursors.ts';
import type { Ledger } from '../../db/ledger.ts';
import { cached, type Db } from '../../db/open.ts';
import type { CustomerLinks } from '../customer-links.ts';
import type { Voice } from '../voice.ts';
import { type Channel, DeliveryError, type Recipient } from './channels.ts';
import { writeNotice } from './customer-texts.ts';
import { backoffMs, GIVE_UP_MS } from './smtp.ts';

export type NoticeKind = 'ready' | 'reminder' | 'ended' | 'rerouted';

const CURSOR = 'customer-notices';
const CAUSES = `('parcel.stored', 'parcel.ready', 'parcel.released', 'parcel.quarantine_withdrawn', 'parcel.pickup_reminder', 'parcel.expired', 'parcel.rerouted')`;
const BATCH = 500;
/** Notices sent a round per channel, at most. */
const ROUND = 100;

const DAY_MS = 86_400_000;

interface Cause {
  seq: number;
  ts: number;
  type: string;
  locker_id: string | null;
  parcel_id: string;
  data: string;
}

interface ParcelNow {
  id: string;
  state: string;
  locker_id: string;
  door: number;
  recipient: string;
  travels: number;
  /** On its way back to its producer (a customer's return, an uncollected parcel): never theirs to collect. */
  homebound: number;
  /** The pickup window's end, null until it opened. */
  window_end: number | null;
}

/** A parcel as the notices read it: where it is, for whom, and when its window ends. */
const PARCEL = `SELECT p.id, p.state, p.locker_id, p.door, p.recipient, p.homebound,
    (p.destination_locker_id IS NOT NULL OR p.destination_site_id IS NOT NULL) AS travels,
    CASE WHEN p.destination_locker_id IS NOT NULL OR p.destination_site_id IS NOT NULL
      THEN p.ready_at + p.pickup_window_ms ELSE p.stored_at + p.pickup_window_ms END AS window_end
  FROM parcels p WHERE p.id = ?`;

/** Where the parcel waits, for the reader's language when they have none: a locker, or a site. */
type Where = { lockerId: string } | { siteId: string };

interface Due {
  parcel_id: string;
  notice: NoticeKind;
  about: string;
  channel: string;
  address: string;
  language: Language;
  cause_seq: number;
  attempts: number;
  created_at: number;
}

export class CustomerNotices implements Component {
  readonly name = 'customer-notices';
  readonly everyMs = 5_000;
  /** The channels sending right now. */
  readonly #busy = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly ledger: Ledger,
    private readonly log: Logger,
    private readonly voice: Voice,
    private readonly links: CustomerLinks,
    /** The channels configured; none: nothing is queued. */
    private readonly channels: readonly Channel[],
  ) {}

  stop(): void {
    for (const c of this.channels) c.close?.();
  }

  async tick(now: number): Promise<void> {
    // Nothing is sent without a channel: once one is configured, the news from before it is not.
    if (this.channels.length === 0) return skipToLedgerEnd(this.db, CURSOR);
    this.enqueue(now);
    await this.send(now);
  }

  /** Queues the notices the ledger's entries since the cursor call for; returns how many. */
  enqueue(now: number): number {
    return this.db
      .transaction(() => {
        const end = ledgerEnd(this.db);
        const from = cursor(this.db, CURSOR) ?? end;
        const causes = cached(
          this.db,
          `SELECT seq, ts, type, locker_id, parcel_id, data FROM events
           WHERE seq > ? AND seq <= ? AND type IN ${CAUSES} AND parcel_id IS NOT NULL ORDER BY seq LIMIT ${BATCH}`,
        ).all(from, end) as Cause[];
        let queued = 0;
        for (const c of causes) {
          try {
            queued += this.#queue(c, now);
          } catch (err) {
            // One entry the hub cannot read must not hold back every notice after it.
            this.log.error({ err, seq: c.seq, parcel: c.parcel_id }, 'queuing a customer notice failed');
          }
        }
        saveCursor(this.db, CURSOR, causes.length === BATCH ? (causes.at(-1) as Cause).seq : end);
        return queued;
      })
      .immediate();
  }

  /** What a ledger entry tells the customer, if anything: the notice, what about, and where. */
  #noticeOf(c: Cause, p: ParcelNow): { notice: NoticeKind; about: string; where: Where } | null {
    const data = JSON.parse(c.data) as Record<string, unknown>;
    const at = c.locker_id ?? p.locker_id;
    switch (c.type) {
      case 'parcel.stored':
        // A travelling parcel is ready at its destination, not at the box it left from.
        return data.held || p.travels || p.homebound
          ? null
          : { notice: 'ready', about: at, where: { lockerId: at } };
      case 'parcel.ready':
        return data.held || p.homebound ? null : { notice: 'ready', about: at, where: { lockerId: at } };
      case 'parcel.released':
      case 'parcel.quarantine_withdrawn':
        // Back where it was: ready, if that is where it was (said now if it was not said before).
        return collectable(p)
          ? { notice: 'ready', about: p.locker_id, where: { lockerId: p.locker_id } }
          : null;
      case 'parcel.pickup_reminder': {
        // One reminder a day at most: a window extended again and again by a few minutes is a
        // new end each time, not a new reminder each time.
        const recent = cached(
          this.db,
          `SELECT 1 FROM customer_notices WHERE parcel_id = ? AND notice = 'reminder' AND created_at > ? AND state <> 'dropped'`,
        ).get(p.id, c.ts - DAY_MS);
        return recent
          ? null
          : { notice: 'reminder', about: String(data.pickupExpiresAt), where: { lockerId: at } };
      }
      case 'parcel.expired':
        return data.stage === 'pickup' ? { notice: 'ended', about: '', where: { lockerId: at } } : null;
      case 'parcel.rerouted': {
        // News only to a customer who could have gone to the old place: the parcel was said to be
        // ready there, or was on its way there in a van (the hub resolving a full destination).
        // A parcel not deposited yet is simply announced ready where it arrives; one going back
        // to its producer is not the customer's any more. (A redirect after each of those would
        // otherwise be a message paid for and sent to anyone, as often as a platform asks.)
        const to = (data.to ?? {}) as { lockerId?: string; siteId?: string };
        const told =
          p.state === 'in_transit' ||
          cached(
            this.db,
            `SELECT 1 FROM customer_notices WHERE parcel_id = ? AND notice = 'ready' AND state IN ('sent', 'pending')`,
          ).get(p.id) !== undefined;
        return to.siteId && told && !p.homebound
          ? { notice: 'rerouted', about: String(c.seq), where: { siteId: to.siteId } }
          : null;
      }
      default:
        return null;
    }
  }

  #queue(c: Cause, now: number): number {
    const p = cached(this.db, PARCEL).get(c.parcel_id) as ParcelNow | undefined;
    if (!p) return 0;
    const n = this.#noticeOf(c, p);
    if (!n) return 0;
    const recipient = JSON.parse(p.recipient) as Recipient & { language?: Language };
    const language =
      recipient.language ??
      ('siteId' in n.where ? this.voice.ofSite(n.where.siteId) : this.voice.ofLocker(n.where.lockerId))
        .language;
    let queued = 0;
    for (const ch of this.channels) {
      const address = ch.address(recipient);
      if (!address) continue;
      // A notice dropped as stale (ready, then held) comes back when its news is true again.
      queued += cached(
        this.db,
        `INSERT INTO customer_notices (parcel_id, notice, about, channel, address, language, cause_seq, state, next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)
         ON CONFLICT DO UPDATE SET state = 'pending', cause_seq = excluded.cause_seq, attempts = 0,
           next_attempt_at = excluded.next_attempt_at, created_at = excluded.created_at
         WHERE customer_notices.state = 'dropped'`,
      ).run(p.id, n.notice, n.about, ch.name, address, language, c.seq, now, now).changes;
    }
    return queued;
  }

  /**
   * Sends what is due, each channel on its own: a mail server that hangs (up to its timeouts on
   * each message) holds back no SMS, as a channel still busy from an earlier round is left to it.
   * A channel that failed three times in a row in a round is taken for down: the rest of its
   * notices wait for the next round rather than each waiting out its timeout.
   */
  async send(now: number): Promise<void> {
    await Promise.all(
      this.channels.map(async (ch) => {
        if (this.#busy.has(ch.name)) return;
        this.#busy.add(ch.name);
        try {
          // The platforms' oldest in turn (each one's first, then each one's second…): a burst of
          // one platform's notices holds another's customer back one round at most, not many.
          const due = cached(
            this.db,
            `SELECT parcel_id, notice, about, channel, address, language, cause_seq, attempts, created_at
             FROM (SELECT n.*, row_number() OVER (PARTITION BY p.tenant ORDER BY n.created_at, n.parcel_id) AS turn
                     FROM customer_notices n JOIN parcels p ON p.id = n.parcel_id
                    WHERE n.state = 'pending' AND n.channel = ? AND n.next_attempt_at <= ?)
             ORDER BY turn, created_at, parcel_id LIMIT ${ROUND}`,
          ).all(ch.name, now) as Due[];
          let failures = 0;
          for (const n of due) {
            failures = (await this.#deliver(ch, n, now)) === 'retry' ? failures + 1 : 0;
            if (failures >= 3) break;
          }
        } finally {
          this.#busy.delete(ch.name);
        }
      }),
    );
  }

  async #deliver(ch: Channel, n: Due, now: number): Promise<'sent' | 'dropped' | 'failed' | 'retry'> {
    const set = (state: string, extra = '', ...args: unknown[]) =>
      cached(
        this.db,
        `UPDATE customer_notices SET state = ?${extra} WHERE parcel_id = ? AND notice = ? AND about = ? AND channel = ?`,
      ).run(state, ...args, n.parcel_id, n.notice, n.about, n.channel);
    const p = cached(this.db, PARCEL).get(n.parcel_id) as ParcelNow;
    if (!stillTrue(n, p)) {
      set('dropped');
      return 'dropped';
    }
    let written: ReturnType<typeof writeNotice>;
    try {
      written = this.#write(n, p, now);
    } catch (err) {
      // A text that cannot be written (a site gone) will not be written better later.
      this.#failed(n, p, (err as Error).message, now, set);
      return 'failed';
    }
    try {
      await ch.send(n.address, written);
      this.db
        .transaction(() => {
          set('sent', ', sent_at = ?, attempts = attempts + 1', now);
          this.ledger.append({
            ts: now,
            type: 'parcel.notice_sent',
            actor: 'hub',
            lockerId: p.locker_id,
            parcelId: p.id,
            data: { notice: n.notice, channel: n.channel, language: n.language, attempts: n.attempts + 1 },
          });
        })
        .immediate();
      return 'sent';
    } catch (err) {
      const error = hideAddress((err as Error).message, n.address).slice(0, 300);
      if ((err instanceof DeliveryError && err.permanent) || now - n.created_at > GIVE_UP_MS) {
        this.#failed(n, p, error, now, set);
        return 'failed';
      }
      set(
        'pending',
        ', last_error = ?, attempts = attempts + 1, next_attempt_at = ?',
        error,
        now + backoffMs(n.attempts),
      );
      this.log.warn(
        { parcel: n.parcel_id, notice: n.notice, channel: n.channel, error },
        'notice failed, will retry',
      );
      return 'retry';
    }
  }

  #failed(
    n: Due,
    p: ParcelNow,
    error: string,
    now: number,
    set: (state: string, extra?: string, ...args: unknown[]) => unknown,
  ): void {
    this.db
      .transaction(() => {
        set('failed', ', last_error = ?, attempts = attempts + 1', error);
        this.ledger.append({
          ts: now,
          type: 'parcel.notice_failed',
          actor: 'hub',
          lockerId: p.locker_id,
          parcelId: p.id,
          data: { notice: n.notice, channel: n.channel, attempts: n.attempts + 1, error },
        });
      })
      .immediate();
    this.log.warn({ parcel: n.parcel_id, notice: n.notice, channel: n.channel, error }, 'notice given up');
  }

  /** The notice in its reader's language, the pickup site's names and time zone. */
  #write(n: Due, p: ParcelNow, now: number) {
    const recipient = JSON.parse(p.recipient) as Recipient;
    let lockerId = p.locker_id;
    let siteId = this.#siteOfLocker(lockerId);
    let from = '';
    if (n.notice === 'rerouted') {
      const data = JSON.parse(
        cached(this.db, 'SELECT data FROM events WHERE seq = ?', 'pluck').get(n.cause_seq) as string,
      ) as { from?: { siteId?: string; lockerId?: string }; to: { siteId: string; lockerId?: string } };
      siteId = data.to.siteId;
      lockerId = data.to.lockerId ?? '';
      from = this.#siteName(data.from?.siteId ?? '') ?? data.from?.lockerId ?? '';
    }
    const site = this.#siteName(siteId);
    if (site === undefined) throw new Error(`no site ${siteId}`);
    const { timeZone } = this.voice.ofSite(siteId);
    const end = p.window_end ?? now;
    return writeNotice(n.notice, n.language, {
      name: recipient.name,
      site,
      locker: lockerId,
      door: p.door,
      end: when(end, n.language, timeZone),
      hours: Math.max(1, Math.round((end - now) / 3_600_000)),
      from,
      link: this.links.url(p.id),
    });
  }

  #siteOfLocker(lockerId: string): string {
    return cached(this.db, 'SELECT site_id FROM lockers WHERE id = ?', 'pluck').get(lockerId) as string;
  }

  #siteName(siteId: string): string | undefined {
    return cached(this.db, 'SELECT name FROM sites WHERE id = ?', 'pluck').get(siteId) as string | undefined;
  }
}

/** Whether the customer can collect the parcel now. */
function collectable(p: ParcelNow): boolean {
  return !p.homebound && (p.state === 'ready' || (p.state === 'stored' && !p.travels));
}

/** Whether a notice's news still holds when it can go. */
function stillTrue(n: Due, p: ParcelNow): boolean {
  switch (n.notice) {
    case 'ready':
      return collectable(p) && p.locker_id === n.about;
    case 'reminder':
      // An extension moved the end: the reminder of the new one replaces it.
      return collectable(p) && String(p.window_end) === n.about;
    default:
      return true;
  }
}

/** An error message without the address it was about (some servers repeat it), for the ledger. */
function hideAddress(message: string, address: string): string {
  return message.split(address).join('<recipient>');
}
