/**
 * Webhooks (docs/api.md): every parcel state change reaches the platform that created the parcel,
 * and every alarm's life (raised, notified again, acknowledged, cleared) the operators who asked,
 * at least once, signed, with an idempotency key, in order per parcel or alarm.
 *
 * Durable by construction: state changes are ledger events, committed with the change itself;
 * `enqueue` turns new ledger events into deliveries and moves its cursor in one transaction; the
 * sender retries each delivery with exponential backoff until the receiver answers 2xx or the
 * delivery is a day old.
 */
import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type { TemperatureClass } from '../../../devices/index.ts';
import { cursor, saveCursor } from '../../db/cursors.ts';
import type { Ledger } from '../../db/ledger.ts';
import type { Db } from '../../db/open.ts';
import { HubError } from '../../errors.ts';
import { type AlarmRow, alarmView } from '../coldchain/alarms.ts';
import { recordSummary } from '../coldchain/record.ts';
import type { ClassRules } from '../coldchain/rules.ts';
import type { Parcels } from '../parcels.ts';
import { newId, newSecret } from '../secrets.ts';
import { OutboundPolicy, OutboundRefused } from './outbound.ts';

const GIVE_UP_MS = 24 * 3_600_000;
const MAX_BACKOFF_MS = 3_600_000;
const BATCH = 50;

export interface DeliveryRow {
  id: string;
  webhook_id: string;
  event_seq: number;
  type: string;
  payload: string;
  attempts: number;
  created_at: number;
  url: string;
  secret: string;
}

/** `x-casier-signature: sha256=<hex HMAC-SHA-256 of "<timestamp>.<body>">` under the webhook's secret. */
export function sign(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export class Webhooks {
  #sending = false;

  constructor(
    private readonly db: Db,
    private readonly ledger: Ledger,
    private readonly parcels: Parcels,
    private readonly log: Logger,
    private readonly now: () => number,
    /** Where deliveries may go (hub/domain/notify/outbound.ts). */
    private readonly outbound: OutboundPolicy = new OutboundPolicy(),
    /** The cold-chain rules a cabinet applies, for the verdict a pickup's delivery carries. */
    private readonly rulesFor?: (lockerId: string, cls: TemperatureClass) => ClassRules,
  ) {}

  /** Refuses a URL whose host is, or resolves to, an address the hub does not send to. */
  async checkTarget(url: string): Promise<void> {
    try {
      await this.outbound.check(url);
    } catch (err) {
      throw new HubError(
        'HUB_ERR_VALIDATION',
        err instanceof OutboundRefused
          ? err.message
          : `${new URL(url).hostname} does not resolve: ${(err as Error).message}`,
      );
    }
  }

  register(
    tokenId: string,
    url: string,
    topic: 'parcels' | 'alarms' = 'parcels',
  ): { id: string; url: string; secret: string } {
    const id = newId('W');
    const secret = newSecret();
    this.db
      .transaction(() => {
        this.db
          .prepare(
            'INSERT INTO webhooks (id, token_id, url, secret, created_at, topic) VALUES (?, ?, ?, ?, ?, ?)',
          )
          .run(id, tokenId, url, secret, this.now(), topic);
        this.ledger.append({
          ts: this.now(),
          type: 'webhook.registered',
          actor: `token:${tokenId}`,
          data: { id, url, topic },
        });
      })
      .immediate();
    return { id, url, secret };
  }

  list(
    tokenId: string,
  ): Array<{ id: string; url: string; topic: 'parcels' | 'alarms'; createdAt: number; active: boolean }> {
    return this.db
      .prepare<
        [string],
        { id: string; url: string; topic: 'parcels' | 'alarms'; createdAt: number; active: number }
      >(
        'SELECT id, url, topic, created_at AS createdAt, active FROM webhooks WHERE token_id = ? ORDER BY created_at',
      )
      .all(tokenId)
      .map((w) => ({ ...w, active: w.active === 1 }));
  }

  remove(tokenId: string, id: string): void {
    const n = this.db
      .prepare('UPDATE webhooks SET active = 0 WHERE id = ? AND token_id = ?')
      .run(id, tokenId).changes;
    if (!n) throw new HubError('HUB_ERR_NOT_FOUND', `no webhook ${id}`);
  }

  /** Turns parcel events the ledger gained since the cursor into deliveries. */
  enqueue(): number {
    return this.db
      .transaction(() => {
        const from = cursor(this.db, 'webhooks') ?? 0;
        const events = this.db
          .prepare(
            `SELECT e.seq, e.ts, e.type, e.parcel_id, e.locker_id, e.data, p.created_by
             FROM events e LEFT JOIN parcels p ON p.id = e.parcel_id
             WHERE e.seq > ? AND ((e.type LIKE 'parcel.%' AND p.id IS NOT NULL)
               OR e.type IN ('alarm.raised', 'alarm.renotified', 'alarm.acknowledged', 'alarm.cleared', 'alarm.withdrawn'))
             ORDER BY e.seq LIMIT 500`,
          )
          .all(from) as Array<{
          seq: number;
          ts: number;
          type: string;
          parcel_id: string;
          locker_id: string | null;
          data: string;
          created_by: string;
        }>;
        const last = (this.db.prepare('SELECT max(seq) FROM events').pluck().get() as number | null) ?? 0;
        let n = 0;
        for (const e of events) {
          if (e.type.startsWith('alarm.')) {
            n += this.#enqueueAlarm(e);
            continue;
          }
          const tokenId = e.created_by.startsWith('token:') ? e.created_by.slice(6) : null;
          if (!tokenId) continue;
          const hooks = this.db
            .prepare(`SELECT id FROM webhooks WHERE token_id = ? AND active = 1 AND topic = 'parcels'`)
            .pluck()
            .all(tokenId) as string[];
          for (const webhookId of hooks) {
            const id = `D-${webhookId.slice(2)}-${e.seq}`;
            const parcel = this.parcels.get(e.parcel_id);
            const payload = {
              id,
              type: e.type,
              /** The audit-trail position: orders deliveries whatever order they arrive in. */
              sequence: e.seq,
              occurredAt: e.ts,
              parcel,
              data: JSON.parse(e.data),
              ...(e.type === 'parcel.stored'
                ? { receipt: this.#receipt(parcel.lockerId, parcel.door, e.ts) }
                : {}),
              ...(e.type === 'parcel.picked_up' ? { temperature: this.#journey(parcel.id) } : {}),
            };
            this.db
              .prepare(
                `INSERT OR IGNORE INTO webhook_deliveries (id, webhook_id, event_seq, parcel_id, type, payload, state, next_attempt_at, created_at)
                 VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
              )
              .run(
                id,
                webhookId,
                e.seq,
                e.parcel_id,
                e.type,
                JSON.stringify(payload),
                this.now(),
                this.now(),
              );
            n++;
          }
        }
        const through = events.length === 500 ? (events.at(-1)?.seq ?? from) : last;
        saveCursor(this.db, 'webhooks', through);
        return n;
      })
      .immediate();
  }

  /**
   * What the goods lived through, deposit to pickup, in short: the platform tells its customer
   * their cheese was kept cold (or was not). The whole record is at its temperature-record route.
   */
  #journey(parcelId: string) {
    const r = recordSummary(this.db, parcelId, this.now(), this.rulesFor);
    return {
      verdict: r.verdict,
      minC: r.min,
      maxC: r.max,
      from: r.from,
      to: r.to,
      minutesOutOfRange: r.minutesOutOfRange,
      minutesUnknown: r.minutesUnknown,
    };
  }

  /** An alarm's ledger event, to every operator's alarm webhook; ordered by the alarm it is about. */
  #enqueueAlarm(e: {
    seq: number;
    ts: number;
    type: string;
    locker_id: string | null;
    data: string;
  }): number {
    const data = JSON.parse(e.data) as { id?: string };
    const alarmId = data.id;
    if (!alarmId) return 0;
    const hooks = this.db
      .prepare(`SELECT id FROM webhooks WHERE topic = 'alarms' AND active = 1`)
      .pluck()
      .all() as string[];
    if (hooks.length === 0) return 0;
    const row = this.db.prepare('SELECT * FROM alarms WHERE id = ?').get(alarmId) as AlarmRow | undefined;
    const site = e.locker_id
      ? (this.db.prepare('SELECT site_id FROM lockers WHERE id = ?').pluck().get(e.locker_id) as
          | string
          | undefined)
      : undefined;
    for (const webhookId of hooks) {
      const id = `D-${webhookId.slice(2)}-${e.seq}`;
      const payload = {
        id,
        type: e.type,
        sequence: e.seq,
        occurredAt: e.ts,
        siteId: site ?? null,
        /** The alarm as it is when the delivery was queued (a later state may already be known). */
        alarm: row ? alarmView(row) : null,
        data,
      };
      this.db
        .prepare(
          `INSERT OR IGNORE INTO webhook_deliveries (id, webhook_id, event_seq, parcel_id, type, payload, state, next_attempt_at, created_at)
           VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
        )
        .run(id, webhookId, e.seq, alarmId, e.type, JSON.stringify(payload), this.now(), this.now());
    }
    return hooks.length;
  }

  /** The producer's receipt: when, which door, and the compartment's temperature at that moment. */
  #receipt(lockerId: string, door: number, at: number) {
    const reading = this.db
      .prepare(
        `SELECT r.c, r.ts FROM compartments c JOIN readings r ON r.locker_id = c.locker_id AND r.sensor = c.sensor
         WHERE c.locker_id = ? AND c.door = ? AND r.ts <= ? ORDER BY r.ts DESC LIMIT 1`,
      )
      .get(lockerId, door, at) as { c: number; ts: number } | undefined;
    return { at, lockerId, door, temperature: reading ? { c: reading.c, at: reading.ts } : null };
  }

  /** Sends what is due, oldest first; one pass at a time. */
  async send(): Promise<void> {
    if (this.#sending) return;
    this.#sending = true;
    try {
      const due = this.db
        .prepare(
          `SELECT d.id, d.webhook_id, d.event_seq, d.type, d.payload, d.attempts, d.created_at, w.url, w.secret
           FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
           WHERE d.state = 'pending' AND d.next_attempt_at <= ?
             -- one parcel's changes arrive in order: a later one waits while an earlier one is retried
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.webhook_id = d.webhook_id AND e.parcel_id = d.parcel_id
                             AND e.state = 'pending' AND e.event_seq < d.event_seq)
           ORDER BY d.event_seq LIMIT ${BATCH}`,
        )
        .all(this.now()) as DeliveryRow[];
      for (const d of due) await this.#deliver(d);
    } finally {
      this.#sending = false;
    }
  }

  async #deliver(d: DeliveryRow): Promise<void> {
    const ts = this.now();
    let error: string | null = null;
    let thrown: unknown;
    try {
      const status = await this.outbound.post(
        d.url,
        {
          'content-type': 'application/json',
          'x-casier-event': d.type,
          // The idempotency key: the same for every attempt of this delivery.
          'x-casier-delivery': d.id,
          'x-casier-timestamp': String(ts),
          'x-casier-signature': sign(d.secret, ts, d.payload),
        },
        d.payload,
        10_000,
      );
      // A redirect is not followed: the signed body would go where the hub was never told to send it.
      if (status >= 300 && status < 400) error = `HTTP ${status}: redirects are not followed`;
      else if (status < 200 || status >= 300) error = `HTTP ${status}`;
    } catch (err) {
      thrown = err; // logged whole: a refused address, a reset, a timeout each say why in their own way
      error = (err as Error).message;
    }
    const attempts = d.attempts + 1;
    if (!error) {
      this.db
        .prepare(
          `UPDATE webhook_deliveries SET state = 'delivered', attempts = ?, delivered_at = ?, last_error = NULL WHERE id = ?`,
        )
        .run(attempts, this.now(), d.id);
      return;
    }
    if (this.now() - d.created_at > GIVE_UP_MS) {
      this.db
        .transaction(() => {
          this.db
            .prepare(
              `UPDATE webhook_deliveries SET state = 'failed', attempts = ?, last_error = ? WHERE id = ?`,
            )
            .run(attempts, error, d.id);
          this.ledger.append({
            ts: this.now(),
            type: 'webhook.failed',
            actor: 'hub',
            data: { delivery: d.id, webhook: d.webhook_id, error },
          });
        })
        .immediate();
      return;
    }
    // Exponential backoff with jitter: 1 s, 2 s, 4 s … up to an hour.
    const backoff = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (attempts - 1)) * (0.75 + Math.random() / 2);
    this.db
      .prepare('UPDATE webhook_deliveries SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?')
      .run(attempts, Math.round(this.now() + backoff), error, d.id);
    this.log.info({ delivery: d.id, attempts, error, err: thrown }, 'webhook delivery failed, will retry');
  }
}
