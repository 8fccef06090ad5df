/**
 * Sends commands to cabinets and keeps re-sending them until the device answers or the command
 * expires. Expiry undoes what the command was for (a code gets its door back).
 */
import type { Logger } from 'pino';
import type { Command } from '../devices/index.ts';
import type { Component } from './components.ts';
import type { Db } from './db/open.ts';
import type { Clocks } from './domain/clocks.ts';
import type { Commands } from './domain/commands.ts';
import type { LockerEvents } from './domain/locker-events.ts';
import type { Link } from './link.ts';
import type { Metrics } from './metrics.ts';

export const RESEND_AFTER_MS = 3_000;
const TICK_MS = 1_000;

export class Dispatcher implements Component {
  readonly name = 'dispatcher';
  readonly everyMs = TICK_MS;
  readonly #siteOf = new Map<string, string>();

  constructor(
    private readonly db: Db,
    private readonly commands: Commands,
    private readonly lockerEvents: LockerEvents,
    private readonly link: Link,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly now: () => number,
    /** The cabinet checks a command's expiry on its own clock: it gets it on that clock. */
    private readonly clocks?: Clocks,
  ) {}

  stop(): void {
    this.#recordSent();
  }

  send(lockerId: string, commands: Command[]): void {
    if (commands.length === 0) return;
    const site = this.#site(lockerId);
    if (!site) return;
    const now = this.now();
    const offset = this.clocks?.offset(lockerId) ?? 0;
    for (const c of commands) {
      this.link.publish(
        { site, locker: lockerId },
        'commands',
        offset ? { ...c, expiresAt: c.expiresAt - offset } : c,
      );
      this.metrics.commandsSent.inc({ type: c.type });
      this.#sent.push({ id: c.id, at: now });
    }
  }

  /** Commands published since the last tick, recorded as sent by the next one. */
  #sent: Array<{ id: string; at: number }> = [];

  /**
   * Records the commands published as sent, in one transaction, at the next tick (before it looks
   * for commands to send again): aedes writes a packet to its socket in a later turn of the event
   * loop, so a write to the store at the publish, or in the next turn, came between an unlock and
   * its socket (0.14 ms of an idle hub's 1.07 ms code → unlock). A command not recorded (the hub
   * stopped first) is still open: it is sent again.
   */
  #recordSent(): void {
    const sent = this.#sent;
    this.#sent = [];
    if (sent.length === 0 || !this.db.open) return;
    try {
      this.db.transaction(() => {
        for (const { id, at } of sent) this.commands.markSent(id, at);
      })();
    } catch (err) {
      this.log.error({ err, commands: sent.length }, 'recording sent commands failed');
    }
  }

  /** A cabinet (re)connected: everything still open for it goes out now, oldest first. */
  resendOpen(lockerId: string): void {
    this.send(lockerId, this.commands.openFor(lockerId, this.now()));
  }

  tick(now: number): void {
    this.#recordSent();
    try {
      for (const row of this.commands.expiredRows(now)) {
        this.db.transaction(() => this.lockerEvents.onCommandExpired(row, now)).immediate();
        this.metrics.commandsExpired.inc();
        this.log.info(
          { command: row.id, locker: row.locker_id, type: row.type },
          'command expired without a result',
        );
      }
      const due = this.commands.due(now, now - RESEND_AFTER_MS);
      const byLocker = new Map<string, Command[]>();
      for (const d of due) byLocker.set(d.lockerId, [...(byLocker.get(d.lockerId) ?? []), d.command]);
      for (const [lockerId, list] of byLocker) this.send(lockerId, list);
    } catch (err) {
      this.log.error({ err }, 'command dispatch failed');
    }
  }

  #site(lockerId: string): string | undefined {
    let site = this.#siteOf.get(lockerId);
    if (!site) {
      site = this.db.prepare('SELECT site_id FROM lockers WHERE id = ?').pluck().get(lockerId) as
        | string
        | undefined;
      if (site) this.#siteOf.set(lockerId, site);
    }
    return site;
  }
}
