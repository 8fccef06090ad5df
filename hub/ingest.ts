/**
 * Everything cabinets publish enters here: the topic names the locker, the payload is decoded
 * once against the contract, then applied in one transaction. Invalid input is counted, logged
 * and dropped; `events/ack` goes out only once the transaction is on disk (docs/protocol.md §2.3).
 */
import type { Logger } from 'pino';
import {
  type Command,
  type DeviceEvent,
  decodePayload,
  type EventsMessage,
  type LockerRef,
  OFFLINE_FORMAT,
  parseSiteLinkTopic,
  parseTopic,
  type TelemetryMessage,
} from '../devices/index.ts';
import type { Ledger } from './db/ledger.ts';
import type { Db } from './db/open.ts';
import type { Clocks } from './domain/clocks.ts';
import { Compartments } from './domain/compartments.ts';
import type { Fleet } from './domain/fleet.ts';
import type { LockerEvents } from './domain/locker-events.ts';
import { EventOrder } from './event-order.ts';
import type { Metrics } from './metrics.ts';

export interface IngestOutput {
  /** Calls back once what was committed so far is on disk (`WalSync.after`). */
  durable(done: (err: Error | null) => void): void;
  /** Runs `commit` when the disk is free, before readings (`WalSync.commitSoon`). */
  commitSoon(commit: () => void, urgent: true): void;
  ack(ref: LockerRef, ids: string[]): void;
  send(lockerId: string, commands: Command[]): void;
  cameOnline(lockerId: string): void;
  /** A cabinet said it is online (news or not): what it must hold is sent again. */
  announced(lockerId: string): void;
  /** Readings go to the cold-chain ingest, which stores them in batches. */
  telemetry(lockerId: string, msg: TelemetryMessage): void;
}

/** A cabinet's dropped messages are logged at most this often (each is counted in /metrics). */
const DROP_LOG_EVERY_MS = 60_000;

export class Ingest {
  readonly #order: EventOrder;
  readonly #compartments: Compartments;

  constructor(
    private readonly db: Db,
    ledger: Ledger,
    private readonly fleet: Fleet,
    private readonly lockerEvents: LockerEvents,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly out: IngestOutput,
    private readonly now: () => number,
    /** Each cabinet's clock: its times are put on the hub's before anything judges them. */
    private readonly clocks: Clocks,
    /** The keyed hash of a code (`Codes.hash`): what a held keypad entry is stored with. */
    hashCode: (code: string) => string,
    /** How long a hole in a cabinet's events may hold the later ones while it is online (ms). */
    gapHoldMs?: number,
  ) {
    this.#order = new EventOrder(db, ledger, metrics, log, hashCode, gapHoldMs);
    this.#compartments = new Compartments(db);
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
          const online = this.db
            .transaction(() => {
              const now = this.now();
              let state = m.value;
              if (state.online) {
                // Stamped as it connected: a fresh sample of its clock (a retained copy is not).
                if (!retained) this.clocks.sample(t.locker, state.bootId, state.ts, now, true);
                state = { ...state, ts: this.clocks.toHub(t.locker, state.ts) };
              }
              const back = this.fleet.onState(t, state, now);
              if (state.online && state.doors)
                this.#compartments.closedAtStart(t.locker, state.doors.closed, state.ts);
              if (back) this.#order.cameOnline(t.locker, now);
              return back;
            })
            .immediate();
          this.metrics.lockersOnline.set(this.fleet.onlineCount());
          if (online) this.out.cameOnline(t.locker);
          if (m.value.online) this.out.announced(t.locker);
          // Its table's hashes are not the ones it computes: it would refuse every code offline.
          if (m.value.online && m.value.codes !== OFFLINE_FORMAT)
            this.log.error(
              { locker: t.locker, fw: m.value.fw, format: m.value.codes ?? 1 },
              'this bridge checks offline codes of another format: offline, it refuses every code; update it',
            );
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
          // Live readings are sent as they are taken (a backlog looks older, never newer).
          const now = this.now();
          // Deferred, not immediate: a sample writes only when an alarm or the kept estimate
          // changes; a write lock per telemetry message would serialise the ingest on it.
          this.db.transaction(() => this.clocks.sample(t.locker, m.value.bootId, m.value.ts, now))();
          const ts = this.clocks.toHub(t.locker, m.value.ts);
          this.out.telemetry(t.locker, ts === m.value.ts ? m.value : { ...m.value, ts });
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
    this.db
      .transaction(() => {
        for (const { ref, msg } of batch) {
          this.fleet.seen(ref.locker, now);
          total += msg.events.length;
          fresh += this.#order.receive(
            ref.locker,
            msg.bootId,
            msg.events,
            now,
            this.#applyInto(commands, now),
          );
        }
      })
      .immediate();
    this.metrics.deviceEvents.inc({ result: 'new' }, fresh);
    this.metrics.deviceEvents.inc({ result: 'duplicate' }, total - fresh);
    this.#afterCommit(commands, () => {
      for (const { ref, msg } of batch)
        this.out.ack(
          ref,
          msg.events.map((e) => e.id),
        );
    });
  }

  /**
   * Holes in cabinets' events that outlived the bound: their events are lost. Recorded, and the
   * events held behind them applied (hub/event-order.ts). Periodic work (a hub component).
   */
  sweepGaps(now: number): void {
    const due = this.#order.due(now);
    if (due.length === 0) return;
    const commands = new Map<string, Command[]>();
    // Events received and not yet committed may be the very ones the hole waits for.
    this.flush();
    for (const lockerId of due) {
      try {
        this.db
          .transaction(() => this.#order.giveUp(lockerId, now, this.#applyInto(commands, now)))
          .immediate();
      } catch (err) {
        this.log.error({ err, locker: lockerId }, 'giving up a hole in the events failed');
      }
    }
    this.#afterCommit(commands, () => {});
  }

  #applyInto(commands: Map<string, Command[]>, now: number) {
    return (lockerId: string, ev: DeviceEvent): Command[] => {
      const ts = this.clocks.toHub(lockerId, ev.ts);
      const list = this.lockerEvents.onEvent(lockerId, ts === ev.ts ? ev : { ...ev, ts }, now);
      if (list.length) commands.set(lockerId, [...(commands.get(lockerId) ?? []), ...list]);
      return list;
    };
  }

  /**
   * Once the store is on disk: sends the commands that follow from what it committed, then `ack`.
   * The commands go out even if the disk failed to confirm; the acknowledgements do not, so the
   * devices send those events again.
   */
  #afterCommit(commands: Map<string, Command[]>, ack: () => void): void {
    this.out.durable((err) => {
      for (const [lockerId, list] of commands) this.out.send(lockerId, list);
      if (err) {
        this.log.error({ err }, 'events not acknowledged: the store could not sync');
        return;
      }
      ack();
    });
  }

  /**
   * Every drop is counted; a line is logged for a cabinet at most once a minute, saying how many
   * were left out since. A cabinet (or whoever holds its password) sending garbage in a loop
   * otherwise wrote a line per message: thousands a second on a Pi's SD card.
   */
  #drop(suffix: string, reason: string, topicName: string, detail?: string): void {
    this.metrics.dropped.inc({ suffix, reason });
    const locker = parseTopic(topicName)?.locker;
    const key = locker ? `locker:${locker}` : `site:${parseSiteLinkTopic(topicName) ?? '?'}`;
    const now = this.now();
    const last = this.#dropLogged.get(key);
    if (last && now - last.at < DROP_LOG_EVERY_MS) {
      last.suppressed++;
      return;
    }
    const suppressed = last?.suppressed ?? 0;
    // Keys are the fleet's cabinets and sites (the broker's ACL admits no others); bounded anyway.
    if (this.#dropLogged.size >= 10_000) this.#dropLogged.clear();
    this.#dropLogged.set(key, { at: now, suppressed: 0 });
    this.log.warn(
      { topic: topicName, reason, detail, ...(suppressed ? { suppressed } : {}) },
      'device message dropped',
    );
  }

  /** Per cabinet (or site): when a drop was last logged, and how many since were not. */
  readonly #dropLogged = new Map<string, { at: number; suppressed: number }>();
}
