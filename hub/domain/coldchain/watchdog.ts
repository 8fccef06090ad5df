/**
 * Alarms judged on the hub's clock: a door left open, a controller gone (its last will, or
 * silence), a cabinet on battery. Temperatures are judged on the readings' clock (rules.ts).
 */
import type { Db } from '../../db/open.ts';
import type { Alarms } from './alarms.ts';

export const DOOR_OPEN_MS = 5 * 60_000;
/** A controller heard from neither events nor readings for this long is considered gone. */
export const CONTROLLER_SILENT_MS = 5 * 60_000;
/**
 * A controller whose connection dropped (its last will, or its site's line) is alarmed once it
 * stayed away this long: a rural link that drops for a few seconds, a cabinet that reboots, must
 * not page anyone. The dashboard shows it offline at once.
 */
export const CONTROLLER_OFFLINE_MS = 60_000;
/** Unacknowledged alarms are notified again this often. */
export const RENOTIFY_MS = 15 * 60_000;

export class Watchdog {
  /**
   * Since when the hub has been listening: nothing said about the time it was stopped counts as
   * silence (after a restart the cabinets reconnect within seconds, and were not gone meanwhile).
   */
  readonly #since: number;

  constructor(
    private readonly db: Db,
    private readonly alarms: Alarms,
    private readonly now: () => number,
    private readonly renotifyMs = RENOTIFY_MS,
  ) {
    this.#since = now();
  }

  sweep(now = this.now()): void {
    const open = this.db
      .prepare(
        `SELECT locker_id, door, door_changed_at FROM compartments WHERE door_state = 'open' AND door_changed_at < ?`,
      )
      .all(now - DOOR_OPEN_MS) as Array<{ locker_id: string; door: number; door_changed_at: number }>;
    // Only the cabinets out of reach (a fleet's thousands of live ones are not read every
    // second); gone once away long enough, counted from the hub's start at the earliest.
    const out = this.db
      .prepare(
        `SELECT l.id, l.online, l.last_seen, s.line_up = 0 AS line_down FROM lockers l JOIN sites s ON s.id = l.site_id
         WHERE l.last_seen IS NOT NULL AND (l.online = 0 OR l.last_seen < ?)`,
      )
      .all(now - CONTROLLER_SILENT_MS) as Array<{
      id: string;
      online: number;
      last_seen: number;
      line_down: number | null;
    }>;
    const gone = out.filter(
      (l) =>
        Math.max(l.last_seen, this.#since) < now - (l.online ? CONTROLLER_SILENT_MS : CONTROLLER_OFFLINE_MS),
    );
    const outOfReach = new Set(out.map((l) => l.id));
    // Only those with an alarm open can have one to clear: no lookup per locker and second.
    const alarmed = new Set(
      this.db
        .prepare(`SELECT locker_id FROM alarms WHERE kind = 'controller_offline' AND state <> 'cleared'`)
        .pluck()
        .all() as string[],
    );
    this.db.transaction(() => {
      for (const d of open) {
        this.alarms.raise({
          lockerId: d.locker_id,
          sensor: `door:${d.door}`,
          kind: 'door_left_open',
          level: 'warning',
          at: now,
          since: d.door_changed_at,
          details: { door: d.door },
        });
      }
      for (const l of gone) {
        alarmed.delete(l.id);
        this.alarms.raise({
          lockerId: l.id,
          sensor: null,
          kind: 'controller_offline',
          level: 'critical',
          at: now,
          since: l.last_seen,
          // Behind a site broker whose line dropped, the cabinet may well be fine: the line is not.
          details: { reason: l.line_down ? 'site_line_down' : l.online ? 'silent' : 'disconnected' },
        });
      }
      // Alarmed and in reach again (not merely within the grace of a restart): back.
      for (const id of alarmed)
        if (!outOfReach.has(id)) this.alarms.clear(id, null, 'controller_offline', 'critical', now);
      this.alarms.renotify(now, this.renotifyMs);
    })();
  }
}
