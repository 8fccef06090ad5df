/** Alarms and their lifecycle: raised → acknowledged (who, comment) → cleared. Never deleted. */
import type { AlarmView } from '../../../devices/index.ts';
import type { Ledger } from '../../db/ledger.ts';
import type { Db } from '../../db/open.ts';
import { HubError } from '../../errors.ts';
import { newId } from '../secrets.ts';

export const ALARM_KINDS = [
  'temperature_high',
  'temperature_low',
  'exposure_limit',
  'sensor_silent',
  'door_left_open',
  'door_forced',
  'controller_offline',
  'on_battery',
  'sensor_fault',
  'clock_skew',
  'keypad_guessing',
  'remote_open_abuse',
  'presence_mismatch',
] as const;
export type AlarmKind = (typeof ALARM_KINDS)[number];
export type AlarmLevel = 'warning' | 'critical';

export interface AlarmRow {
  id: string;
  locker_id: string;
  sensor: string | null;
  door: number | null;
  kind: AlarmKind;
  level: AlarmLevel;
  state: 'raised' | 'acknowledged' | 'cleared';
  raised_at: number;
  since: number | null;
  acked_at: number | null;
  acked_by: string | null;
  ack_comment: string | null;
  cleared_at: number | null;
  details: string;
}

export const alarmView = (a: AlarmRow): AlarmView => ({
  id: a.id,
  lockerId: a.locker_id,
  sensor: a.sensor,
  kind: a.kind,
  level: a.level,
  state: a.state,
  raisedAt: a.raised_at,
  since: a.since,
  acknowledged: a.acked_at ? { at: a.acked_at, by: a.acked_by, comment: a.ack_comment } : null,
  clearedAt: a.cleared_at,
  details: JSON.parse(a.details) as Record<string, unknown>,
});

/** An alarm to raise: where, what, since when. */
export interface NewAlarm {
  lockerId: string;
  sensor: string | null;
  kind: AlarmKind;
  level: AlarmLevel;
  /** Event time it rose. */
  at: number;
  /** Event time the condition began. */
  since?: number;
  details?: Record<string, unknown>;
}

export class Alarms {
  readonly #open;

  constructor(
    private readonly db: Db,
    private readonly ledger: Ledger,
  ) {
    this.#open = db.prepare<[string, string | null, string, string], AlarmRow>(
      `SELECT * FROM alarms WHERE locker_id = ? AND sensor IS ? AND kind = ? AND level = ? AND state <> 'cleared'`,
    );
  }

  /** Raises an alarm unless the same one is already open; returns it if new. Inside a transaction. */
  raise(a: NewAlarm): AlarmRow | undefined {
    if (this.#open.get(a.lockerId, a.sensor, a.kind, a.level)) return undefined;
    this.#insert(a, null);
    return this.#open.get(a.lockerId, a.sensor, a.kind, a.level);
  }

  /**
   * Records an episode the hub learnt of late (readings judged again in their order): raised at
   * `at` and, unless it is still under way, cleared at `clearedAt`, whatever else is open of the
   * same kind now. Inside a transaction.
   */
  episode(a: NewAlarm & { clearedAt: number | null }): void {
    if (a.clearedAt === null) this.raise(a);
    else this.#insert(a, a.clearedAt);
  }

  /** Writes an alarm raised at `a.at` (and cleared at `clearedAt`), with its ledger entries. */
  #insert(a: NewAlarm, clearedAt: number | null): void {
    const id = newId('A');
    this.db
      .prepare(
        `INSERT INTO alarms (id, locker_id, sensor, kind, level, state, raised_at, since, details, notified_at, cleared_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        id,
        a.lockerId,
        a.sensor,
        a.kind,
        a.level,
        clearedAt === null ? 'raised' : 'cleared',
        a.at,
        a.since ?? null,
        JSON.stringify(a.details ?? {}),
        a.at,
        clearedAt,
      );
    const what = { id, kind: a.kind, level: a.level, sensor: a.sensor };
    this.ledger.append({
      ts: a.at,
      type: 'alarm.raised',
      actor: 'hub',
      lockerId: a.lockerId,
      data: { ...what, ...a.details },
    });
    if (clearedAt !== null)
      this.ledger.append({
        ts: clearedAt,
        type: 'alarm.cleared',
        actor: 'hub',
        lockerId: a.lockerId,
        data: what,
      });
  }

  /**
   * Withdraws an alarm the facts, as the hub now has them, do not give (readings that came late,
   * judged in their order): cleared where it rose, marked `withdrawn`, left out of records and
   * breaches. Inside a transaction.
   */
  withdraw(id: string, now: number, why: string): void {
    const a = this.db.prepare('SELECT locker_id, sensor, kind, level FROM alarms WHERE id = ?').get(id) as
      | { locker_id: string; sensor: string | null; kind: string; level: string }
      | undefined;
    if (!a) return;
    this.db
      .prepare(
        `UPDATE alarms SET state = 'cleared', cleared_at = raised_at, details = json_set(details, '$.withdrawn', json('true')) WHERE id = ?`,
      )
      .run(id);
    this.ledger.append({
      ts: now,
      type: 'alarm.withdrawn',
      actor: 'hub',
      lockerId: a.locker_id,
      data: { id, kind: a.kind, level: a.level, sensor: a.sensor, why },
    });
  }

  /** Updates details of an open alarm (advice that follows the situation); no ledger entry. */
  amend(
    lockerId: string,
    sensor: string | null,
    kind: AlarmKind,
    level: AlarmLevel,
    details: Record<string, unknown>,
  ): void {
    const open = this.#open.get(lockerId, sensor, kind, level);
    if (!open) return;
    this.db
      .prepare('UPDATE alarms SET details = json_patch(details, ?) WHERE id = ?')
      .run(JSON.stringify(details), open.id);
  }

  clear(lockerId: string, sensor: string | null, kind: AlarmKind, level: AlarmLevel, at: number): void {
    const open = this.#open.get(lockerId, sensor, kind, level);
    if (!open) return;
    this.db.prepare(`UPDATE alarms SET state = 'cleared', cleared_at = ? WHERE id = ?`).run(at, open.id);
    this.ledger.append({
      ts: at,
      type: 'alarm.cleared',
      actor: 'hub',
      lockerId,
      data: { id: open.id, kind, level, sensor },
    });
  }

  /**
   * Alarms nobody has acknowledged for `everyMs` are notified again (a ledger event and a metric
   * that the integrator's paging and the coming webhooks act on). Returns how many.
   */
  renotify(now: number, everyMs: number): number {
    const due = this.db
      .prepare(`SELECT * FROM alarms WHERE state = 'raised' AND notified_at <= ?`)
      .all(now - everyMs) as AlarmRow[];
    for (const a of due) {
      this.db
        .prepare('UPDATE alarms SET notified_at = ?, notifications = notifications + 1 WHERE id = ?')
        .run(now, a.id);
      this.ledger.append({
        ts: now,
        type: 'alarm.renotified',
        actor: 'hub',
        lockerId: a.locker_id,
        data: { id: a.id, kind: a.kind, level: a.level, sensor: a.sensor, raisedAt: a.raised_at },
      });
    }
    return due.length;
  }

  acknowledge(id: string, by: { id: string; name: string }, comment: string, now: number) {
    return this.db
      .transaction(() => {
        const a = this.db.prepare('SELECT * FROM alarms WHERE id = ?').get(id) as AlarmRow | undefined;
        if (!a) throw new HubError('HUB_ERR_NOT_FOUND', `no alarm ${id}`);
        if (a.acked_at)
          throw new HubError('HUB_ERR_INVALID_STATE', `alarm ${id} was acknowledged by ${a.acked_by}`);
        const state = a.state === 'cleared' ? 'cleared' : 'acknowledged';
        this.db
          .prepare('UPDATE alarms SET state = ?, acked_at = ?, acked_by = ?, ack_comment = ? WHERE id = ?')
          .run(state, now, by.name, comment, id);
        this.ledger.append({
          ts: now,
          type: 'alarm.acknowledged',
          actor: `token:${by.id}`,
          lockerId: a.locker_id,
          data: { id, comment, by: by.name },
        });
        return alarmView(this.db.prepare('SELECT * FROM alarms WHERE id = ?').get(id) as AlarmRow);
      })
      .immediate();
  }

  get(id: string): AlarmView | undefined {
    const row = this.db.prepare('SELECT * FROM alarms WHERE id = ?').get(id) as AlarmRow | undefined;
    return row && alarmView(row);
  }

  list(f: {
    state?: 'open' | 'all';
    siteId?: string;
    /** At these sites only (a token limited to sites). */
    sites?: readonly string[];
    lockerId?: string;
    sensor?: string;
    kind?: string;
    level?: string;
    /** Only alarms still open at or raised after this time. */
    from?: number;
    limit: number;
  }): AlarmView[] {
    const clauses: string[] = [];
    const args: unknown[] = [];
    if (f.state !== 'all') clauses.push(`state <> 'cleared'`);
    if (f.siteId)
      clauses.push('locker_id IN (SELECT id FROM lockers WHERE site_id = ?)') && args.push(f.siteId);
    if (f.sites)
      clauses.push(
        'locker_id IN (SELECT id FROM lockers WHERE site_id IN (SELECT value FROM json_each(?)))',
      ) && args.push(JSON.stringify(f.sites));
    if (f.lockerId) clauses.push('locker_id = ?') && args.push(f.lockerId);
    if (f.sensor) clauses.push('sensor = ?') && args.push(f.sensor);
    if (f.from !== undefined) clauses.push('(cleared_at IS NULL OR cleared_at >= ?)') && args.push(f.from);
    if (f.kind) clauses.push('kind = ?') && args.push(f.kind);
    if (f.level) clauses.push('level = ?') && args.push(f.level);
    const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
    return (
      this.db
        .prepare(`SELECT * FROM alarms ${where} ORDER BY raised_at DESC LIMIT ?`)
        .all(...args, f.limit) as AlarmRow[]
    ).map(alarmView);
  }
}
