/**
 * Everything cabinets publish enters here: the topic names the locker, the payload is decoded
 * once against the contract, then applied in one transaction. Invalid input is counted, logged
 * and dropped; `events/ack` goes out only once the transaction is on disk (docs/protocol.md §2.3).
 */
import type { Logger } from 'pino';
import {
  type Command,
  decodePayload,
  type EventsMessage,
  type LockerRef,
  parseSiteLinkTopic,
  parseTopic,
  type TelemetryMessage,
} from '../devices/index.ts';
import type { Ledger } from './db/ledger.ts';
import type { Db } from './db/open.ts';
import type { Fleet } from './domain/fleet.ts';
import type { LockerEvents } from './domain/locker-events.ts';
import type { Metrics } from './metrics.ts';

export interface IngestOutput {
  /** Calls back once what was committed so far is on disk (`WalSync.after`). */
  durable(done: (err: Error | null) => void): void;
  /** Runs `commit` when the disk is free, before readings (`WalSync.commitSoon`). */
  commitSoon(commit: () => void, urgent: true): void;
  ack(ref: LockerRef, ids: string[]): void;
  send(lockerId: string, commands: Command[]): void;
  cameOnline(lockerId: string): void;
  /** Readings go to the cold-chain ingest, which stores them in batches. */
  telemetry(lockerId: string, msg: TelemetryMessage): void;
}

export class Ingest {
  readonly #insertEvent;
  readonly #lastSeq;
  /** The last event number applied per cabinet, for its latest boot: read from the store once. */
  readonly #last = new Map<string, { bootId: string; seq: number }>();

  constructor(
    private readonly db: Db,
    private readonly ledger: Ledger,
    private readonly fleet: Fleet,
    private readonly lockerEvents: LockerEvents,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly out: IngestOutput,
    private readonly now: () => number,
  ) {
    this.#lastSeq = db
      .prepare<[string, string], number | null>(
        'SELECT max(seq) FROM device_events WHERE locker_id = ? AND boot_id = ?',
      )
      .pluck();
    this.#insertEvent = db.prepare(
      `INSERT OR IGNORE INTO device_events (locker_id, id, boot_id, seq, ts, type, body, received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  /** `retained`: the broker replays a message kept from before (at subscription), not news. */
  handle(topicName: string, payload: Buffer, retained = false): void {
    const t = parseTopic(topicName);
    if (!t) {
      const site = parseSiteLinkTopic(topicName);
      if (site !== null) this.#siteLine(site, payload, topicName);
      else this.#drop('unknown', 'topic', topicName);
      return;
    }
    if (!this.fleet.knows(t)) {
      this.#drop(t.suffix, 'unknown_locker', topicName);
      return;
    }
    try {
      switch (t.suffix) {
        case 'state': {
          const m = decodePayload('state', payload);
          if (!m.ok) {
            this.#drop(t.suffix, m.reason, topicName, m.detail);
            return;
          }
          if (m.value.online && retained && this.fleet.lineDown(t.site)) {
            // The central broker's copy of a cabinet's state from before its site's line dropped:
            // the cabinet is out of reach whatever it says (a hub started during the outage).
            this.#drop(t.suffix, 'site_line_down', topicName, 'retained state from before the line dropped');
            return;
          }
          const online = this.db.transaction(() => this.fleet.onState(t, m.value, this.now())).immediate();
          this.metrics.lockersOnline.set(this.fleet.onlineCount());
          if (online) this.out.cameOnline(t.locker);
          break;
        }
        case 'events': {
          const m = decodePayload('events', payload);
          if (!m.ok) {
            this.#drop(t.suffix, m.reason, topicName, m.detail);
            return;
          }
          this.#events(t, m.value);
          break;
        }
        case 'commands/result': {
          const m = decodePayload('commands/result', payload);
          if (!m.ok) {
            this.#drop(t.suffix, m.reason, topicName, m.detail);
            return;
          }
          this.db
            .transaction(() => this.lockerEvents.onCommandResult(t.locker, m.value, this.now()))
            .immediate();
          break;
        }
        case 'telemetry': {
          const m = decodePayload('telemetry', payload);
          if (!m.ok) {
            this.#drop(t.suffix, m.reason, topicName, m.detail);
            return;
          }
          if (m.value.dropped) this.metrics.telemetryDroppedOnDevice.inc(m.value.dropped);
          this.out.telemetry(t.locker, m.value);
          break;
        }
        default: {
          this.#drop(t.suffix, 'wrong_direction', topicName);
          return;
        }
      }
      this.metrics.accepted(t.suffix);
    } catch (err) {
      // A bug or a full disk must not take the hub down; the device re-sends what was not acknowledged.
      this.log.error({ err, topic: topicName }, 'ingest failed');
      this.metrics.dropped.inc({ suffix: t.suffix, reason: 'error' });
    }
  }

  /** A site's own broker says whether it reaches this broker (docs/operations.md §9). */
  #siteLine(site: string, payload: Buffer, topicName: string): void {
    const text = payload.toString();
    if (text !== '0' && text !== '1') {
      this.#drop('link', 'invalid', topicName, 'expected 0 or 1');
      return;
    }
    try {
      const known = this.db
        .transaction(() => this.fleet.onSiteLine(site, text === '1', this.now()))
        .immediate();
      if (!known) {
        this.#drop('link', 'unknown_site', topicName);
        return;
      }
      this.metrics.lockersOnline.set(this.fleet.onlineCount());
      this.metrics.accepted('link');
    } catch (err) {
      this.log.error({ err, topic: topicName }, 'ingest failed');
      this.metrics.dropped.inc({ suffix: 'link', reason: 'error' });
    }
  }

  /** Events messages received since the last commit: committed together. */
  #pending: Array<{ ref: LockerRef; msg: EventsMessage }> = [];

  #events(ref: LockerRef, msg: EventsMessage): void {
    this.#pending.push({ ref, msg });
    // Group commit: whatever else arrives before the disk is free shares the transaction.
    if (this.#pending.length === 1) this.out.commitSoon(() => this.flush(), true);
  }

  /** Commits and acknowledges the events received so far (the hub calls it before it stops). */
  flush(): void {
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    const stop = this.metrics.ingestSeconds.startTimer();
    try {
      this.#apply(batch);
    } catch (err) {
      // One message the domain cannot apply must not hold back the others: each alone, then.
      this.log.warn({ err, messages: batch.length }, 'events batch failed; applying each message alone');
      for (const one of batch) {
        try {
          this.#apply([one]);
        } catch (e) {
          // Not acknowledged: the device sends it again; the error is there to be fixed.
          this.log.error({ err: e, locker: one.ref.locker }, 'ingest failed');
          this.metrics.dropped.inc({ suffix: 'events', reason: 'error' });
        }
      }
    }
    stop();
  }

  /**
   * Applies events messages in one transaction; once it is on disk, sends the commands that follow
   * from them and acknowledges them. The sync runs off the event loop, so the events arriving
   * meanwhile are applied and wait for the next one: a sync covers whatever committed before it.
   */
  #apply(batch: Array<{ ref: LockerRef; msg: EventsMessage }>): void {
    const now = this.now();
    const commands = new Map<string, Command[]>();
    let fresh = 0;
    let total = 0;
    // Kept once the transaction committed: a rolled-back batch leaves the numbers as they were.
    const seqs = new Map<string, { bootId: string; seq: number }>();
    this.db
      .transaction(() => {
        for (const { ref, msg } of batch) {
          this.fleet.seen(ref.locker, now);
          const known = seqs.get(ref.locker) ?? this.#last.get(ref.locker);
          let last =
            known?.bootId === msg.bootId
              ? known.seq
              : ((this.#lastSeq.get(ref.locker, msg.bootId) as number | null) ?? 0);
          const mine = commands.get(ref.locker) ?? [];
          commands.set(ref.locker, mine);
          for (const ev of msg.events) {
            total++;
            const { id, seq, ts, type } = ev;
            const inserted = this.#insertEvent.run(
              ref.locker,
              id,
              msg.bootId,
              seq,
              ts,
              type,
              JSON.stringify(redact(ev)),
              now,
            );
            if (inserted.changes === 0) continue; // a re-send: applied once already
            fresh++;
            if (seq > last + 1) this.#gap(ref.locker, msg.bootId, last + 1, seq, now);
            last = Math.max(last, seq);
            mine.push(...this.lockerEvents.onEvent(ref.locker, ev, now));
          }
          seqs.set(ref.locker, { bootId: msg.bootId, seq: last });
        }
      })
      .immediate();
    for (const [lockerId, s] of seqs) this.#last.set(lockerId, s);
    this.metrics.deviceEvents.inc({ result: 'new' }, fresh);
    this.metrics.deviceEvents.inc({ result: 'duplicate' }, total - fresh);
    this.out.durable((err) => {
      // The store acts on what it committed: the commands go out even if the disk failed to
      // confirm; the acknowledgements do not, so the devices send those events again.
      for (const [lockerId, list] of commands) if (list.length) this.out.send(lockerId, list);
      if (err) {
        this.log.error({ err, messages: batch.length }, 'events not acknowledged: the store could not sync');
        return;
      }
      for (const { ref, msg } of batch)
        this.out.ack(
          ref,
          msg.events.map((e) => e.id),
        );
    });
  }

  /**
   * Devices number their events without holes within a boot and never drop one: a hole means
   * events were lost on the way (a wiped outbox, a faulty device). Recorded for an operator.
   */
  #gap(lockerId: string, bootId: string, expected: number, got: number, now: number): void {
    this.metrics.sequenceGaps.inc();
    this.ledger.append({
      ts: now,
      type: 'device.sequence_gap',
      actor: 'hub',
      lockerId,
      data: { bootId, expected, got, missing: got - expected },
    });
    this.log.warn({ locker: lockerId, bootId, expected, got }, 'gap in device event sequence');
  }

  #drop(suffix: string, reason: string, topicName: string, detail?: string): void {
    this.metrics.dropped.inc({ suffix, reason });
    this.log.warn({ topic: topicName, reason, detail }, 'device message dropped');
  }
}

/** Typed codes never reach the store in clear: the copy kept of a keypad entry drops the digits. */
function redact(ev: EventsMessage['events'][number]): unknown {
  if (ev.type !== 'keypad.entry') return ev;
  const { code, ...rest } = ev;
  return { ...rest, digits: code.length };
}
