/**
 * The bridge's durable state on the Pi (SQLite, synchronous=FULL): the outbox of events not yet
 * acknowledged by the hub, and the ids of commands already executed. An event is written here
 * before anything else happens with it; it leaves only when the hub's `events/ack` names it.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  type Brake,
  type BrakeStore,
  type CodesTable,
  type CommandResult,
  type DeviceEvent,
  OFFLINE_FORMAT,
  type TelemetryMessage,
} from '../devices/index.ts';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS outbox (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    boot_id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;
  -- the latest offline code table from the hub, and the codes this cabinet accepted offline
  CREATE TABLE IF NOT EXISTS code_table (k INTEGER PRIMARY KEY CHECK (k = 1), version INTEGER NOT NULL, body TEXT NOT NULL) STRICT;
  CREATE TABLE IF NOT EXISTS offline_used (h TEXT PRIMARY KEY, at INTEGER NOT NULL) STRICT;
  -- telemetry waiting for the link, bounded: the oldest go first, and how many went is remembered
  CREATE TABLE IF NOT EXISTS telemetry (n INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL) STRICT;
  CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;
  CREATE TABLE IF NOT EXISTS brakes (key TEXT PRIMARY KEY, failures REAL NOT NULL, at INTEGER NOT NULL, blocked_until INTEGER NOT NULL) STRICT;
  CREATE TABLE IF NOT EXISTS executed (
    id TEXT PRIMARY KEY,
    -- NULL while executing: a crash then leaves the command marked, never run twice
    result TEXT,
    at INTEGER NOT NULL
  ) STRICT;
`;

export interface OutboxRow {
  id: string;
  bootId: string;
  event: DeviceEvent;
}

export class Outbox {
  readonly #db: Database.Database;
  readonly #insert;
  readonly #oldest;
  readonly #delete;
  readonly #count;
  readonly #now: () => number;

  /** `now`: the cabinet's clock (the bridge's), for when commands ran and codes were used. */
  constructor(dataDir: string, opts: { now?: () => number } = {}) {
    this.#now = opts.now ?? Date.now;
    mkdirSync(dataDir, { recursive: true });
    this.#db = new Database(join(dataDir, 'bridge.db'));
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.exec(SCHEMA);
    this.#forgetOtherFormats();
    this.#insert = this.#db.prepare('INSERT INTO outbox (id, boot_id, body, created_at) VALUES (?, ?, ?, ?)');
    this.#oldest = this.#db.prepare<[number], { id: string; boot_id: string; body: string }>(
      'SELECT id, boot_id, body FROM outbox ORDER BY n LIMIT ?',
    );
    this.#delete = this.#db.prepare('DELETE FROM outbox WHERE id = ?');
    this.#count = this.#db.prepare('SELECT count(*) FROM outbox').pluck();
  }

  /** Durable once this returns: written and synced. */
  add(bootId: string, event: DeviceEvent): void {
    this.#insert.run(event.id, bootId, JSON.stringify(event), this.#now());
  }

  oldest(limit: number): OutboxRow[] {
    return this.#oldest
      .all(limit)
      .map((r) => ({ id: r.id, bootId: r.boot_id, event: JSON.parse(r.body) as DeviceEvent }));
  }

  ack(ids: readonly string[]): number {
    let n = 0;
    this.#db.transaction(() => {
      for (const id of ids) n += this.#delete.run(id).changes;
    })();
    return n;
  }

  get size(): number {
    return this.#count.get() as number;
  }

  /** Marks a command as started; false if it was seen before (executed, or interrupted by a crash). */
  begin(commandId: string): boolean {
    return (
      this.#db
        .prepare('INSERT OR IGNORE INTO executed (id, result, at) VALUES (?, NULL, ?)')
        .run(commandId, this.#now()).changes === 1
    );
  }

  finish(result: CommandResult): void {
    this.#db.prepare('UPDATE executed SET result = ? WHERE id = ?').run(JSON.stringify(result), result.id);
  }

  /** The result given for a command seen before; an interruption if it never finished. */
  previous(commandId: string): CommandResult | undefined {
    const row = this.#db.prepare('SELECT result FROM executed WHERE id = ?').get(commandId) as
      | { result: string | null }
      | undefined;
    if (!row) return undefined;
    return row.result
      ? (JSON.parse(row.result) as CommandResult)
      : {
          id: commandId,
          ok: false,
          error: 'interrupted: the bridge restarted while executing it',
          ts: this.#now(),
        };
  }

  /**
   * Buffers a telemetry message while the hub is unreachable. Unlike events, readings are bounded:
   * past `cap` messages the oldest are dropped and counted, and the count travels with the next
   * message sent (`dropped`), so the hub knows there is a gap and how large.
   */
  addTelemetry(msg: TelemetryMessage, cap: number): void {
    this.#db.transaction(() => {
      this.#db.prepare('INSERT INTO telemetry (body) VALUES (?)').run(JSON.stringify(msg));
      const over = (this.#db.prepare('SELECT count(*) FROM telemetry').pluck().get() as number) - cap;
      if (over > 0) {
        this.#db
          .prepare('DELETE FROM telemetry WHERE n IN (SELECT n FROM telemetry ORDER BY n LIMIT ?)')
          .run(over);
        this.#db
          .prepare(
            "INSERT INTO counters (name, value) VALUES ('telemetry_dropped', ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
          )
          .run(over);
      }
    })();
  }

  /** The oldest buffered telemetry, the first one carrying the count of messages dropped before it. */
  telemetryBacklog(limit: number): Array<{ n: number; msg: TelemetryMessage }> {
    const rows = this.#db.prepare('SELECT n, body FROM telemetry ORDER BY n LIMIT ?').all(limit) as Array<{
      n: number;
      body: string;
    }>;
    const dropped =
      (this.#db.prepare("SELECT value FROM counters WHERE name = 'telemetry_dropped'").pluck().get() as
        | number
        | undefined) ?? 0;
    return rows.map((r, i) => {
      const msg = JSON.parse(r.body) as TelemetryMessage;
      return { n: r.n, msg: i === 0 && dropped > 0 ? { ...msg, dropped } : msg };
    });
  }

  /** Forgets telemetry the hub has received; resets the dropped count once it was sent. */
  telemetrySent(ns: number[], droppedSent: boolean): void {
    this.#db.transaction(() => {
      for (const n of ns) this.#db.prepare('DELETE FROM telemetry WHERE n = ?').run(n);
      if (droppedSent) this.#db.prepare("DELETE FROM counters WHERE name = 'telemetry_dropped'").run();
    })();
  }

  get telemetryBuffered(): number {
    return this.#db.prepare('SELECT count(*) FROM telemetry').pluck().get() as number;
  }

  /** Keeps the hub's code table if it is newer than the one held; true if it was kept. */
  saveCodeTable(table: CodesTable): boolean {
    const held = this.#db.prepare('SELECT version FROM code_table WHERE k = 1').pluck().get() as
      | number
      | undefined;
    if (held !== undefined && table.version < held) return false;
    this.#db
      .prepare('INSERT OR REPLACE INTO code_table (k, version, body) VALUES (1, ?, ?)')
      .run(table.version, JSON.stringify(table));
    return true;
  }

  /**
   * A table of another format, held from before an upgrade, is never checked against (its hashes
   * are not ours) and is erased from the card: its HMACs gave a thief the codes in seconds.
   */
  #forgetOtherFormats(): void {
    // Overwritten, not only unlinked; only here: the outbox deletes too often to zero every page.
    this.#db.pragma('secure_delete = ON');
    this.#db
      .prepare("DELETE FROM code_table WHERE json_extract(body, '$.format') IS NOT ?")
      .run(OFFLINE_FORMAT);
    this.#db.pragma('secure_delete = OFF');
  }

  codeTable(): CodesTable | undefined {
    const body = this.#db.prepare('SELECT body FROM code_table WHERE k = 1').pluck().get() as
      | string
      | undefined;
    return body ? (JSON.parse(body) as CodesTable) : undefined;
  }

  markUsedOffline(h: string): void {
    this.#db.prepare('INSERT OR IGNORE INTO offline_used (h, at) VALUES (?, ?)').run(h, this.#now());
  }

  forgetUsedOffline(h: string): void {
    this.#db.prepare('DELETE FROM offline_used WHERE h = ?').run(h);
  }

  usedOffline(): Set<string> {
    return new Set(this.#db.prepare('SELECT h FROM offline_used').pluck().all() as string[]);
  }

  /** Forgets executed command ids and codes used offline older than `ms` (both expire long before). */
  prune(ms: number): void {
    this.#db.prepare('DELETE FROM executed WHERE at < ?').run(this.#now() - ms);
    this.#db.prepare('DELETE FROM offline_used WHERE at < ?').run(this.#now() - ms);
  }

  /** The offline keypad brakes (devices/throttle.ts), kept so a restart gives no fresh guesses. */
  readonly brakes: BrakeStore = {
    load: (key) =>
      this.#db
        .prepare('SELECT failures, at, blocked_until AS blockedUntil FROM brakes WHERE key = ?')
        .get(key) as Brake | undefined,
    save: (key, brake) => {
      if (!brake) this.#db.prepare('DELETE FROM brakes WHERE key = ?').run(key);
      else
        this.#db
          .prepare(
            `INSERT INTO brakes (key, failures, at, blocked_until) VALUES (?, ?, ?, ?)
             ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, at = excluded.at, blocked_until = excluded.blocked_until`,
          )
          .run(key, brake.failures, brake.at, brake.blockedUntil);
    },
  };

  close(): void {
    this.#db.close();
  }
}
