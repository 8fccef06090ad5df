/** Sites and lockers as the API and the ingest see them: connection state and compartments. */
import type {
  CompartmentView,
  Language,
  LockerRef,
  LockerSummary,
  LockerView,
  SiteView,
  StateMessage,
} from '../../devices/index.ts';
import type { Ledger } from '../db/ledger.ts';
import { StoreMemo } from '../db/memo.ts';
import { cached, type Db } from '../db/open.ts';
import { HubError } from '../errors.ts';
import { dueAgain, PERSIST_EVERY_MS, phaseOf } from './keep-back.ts';
import { lookupProfile } from './profiles.ts';

interface LockerRow {
  id: string;
  site_id: string;
  profile: string;
  created_at: number;
  online: number;
  boot_id: string | null;
  fw: string | null;
  last_seen: number | null;
}

interface SiteRow {
  id: string;
  name: string;
  lockers: number;
  online: number;
  line_up: number | null;
  line_since: number | null;
  language: Language;
  time_zone: string;
}

const siteView = ({ line_up, line_since, time_zone, ...s }: SiteRow): SiteView => ({
  ...s,
  timeZone: time_zone,
  line: line_up === null ? null : { up: line_up === 1, since: line_since ?? 0 },
});

/** A site's settings as it set them (null: the hub's). */
export interface SiteSettings {
  siteId: string;
  driverDoors: 'sequential' | 'all';
  language: Language | null;
  timeZone: string | null;
  /** Hours a customer may add to their pickup window each time, and how many times (0: never). */
  extend: { hours: number; times: number };
}

/** What a site's people read when it says nothing of its own: the hub's `--language` and `--time-zone`. */
export interface HubLocale {
  language: Language;
  timeZone: string;
}

const lockerView = (r: LockerRow): LockerSummary => ({
  id: r.id,
  siteId: r.site_id,
  profile: r.profile,
  online: r.online === 1,
  bootId: r.boot_id,
  firmware: r.fw,
  lastSeen: r.last_seen,
  createdAt: r.created_at,
});

export class Fleet {
  readonly #site;
  readonly #locker;
  readonly #seen;
  readonly #views;
  readonly #compartments;

  /** The hub's language and time zone, for sites without their own (set once at start). */
  locale: HubLocale = { language: 'en', timeZone: 'UTC' };

  constructor(
    private readonly db: Db,
    private readonly ledger: Ledger,
  ) {
    this.#site = db.prepare<[string], string>('SELECT site_id FROM lockers WHERE id = ?').pluck();
    this.#locker = db.prepare<[string], LockerRow>('SELECT * FROM lockers WHERE id = ?');
    this.#seen = db.prepare('UPDATE lockers SET last_seen = max(coalesce(last_seen, 0), ?) WHERE id = ?');
    this.#views = new StoreMemo<LockerView>(db);
    this.#compartments = db.prepare(
      `SELECT c.door, c.size, c.temperature_class, c.sensor, c.door_state, c.present, c.parcel_id, c.pending_action, p.state AS parcel_state,
                json_extract(s.rules, '$.lastC') AS last_c, json_extract(s.rules, '$.lastTs') AS last_ts,
                EXISTS (SELECT 1 FROM alarms a WHERE a.locker_id = c.locker_id AND a.sensor = c.sensor AND a.kind = 'sensor_silent' AND a.state <> 'cleared') AS silent
         FROM compartments c LEFT JOIN parcels p ON p.id = c.parcel_id
         LEFT JOIN sensor_state s ON s.locker_id = c.locker_id AND s.sensor = c.sensor
         WHERE c.locker_id = ? ORDER BY c.door`,
    );
  }

  /** Lockers known to exist, with their site: a locker never moves, so a yes is remembered. */
  readonly #known = new Map<string, string>();

  /** True when the locker exists and belongs to that site: the topic names a real cabinet. */
  knows(ref: LockerRef): boolean {
    const cached = this.#known.get(ref.locker);
    if (cached !== undefined) return cached === ref.site;
    const site = this.#site.get(ref.locker);
    if (site !== undefined) this.#known.set(ref.locker, site);
    return site === ref.site;
  }

  /** Applies a `state` message; returns true when the locker has just come (back) online. */
  onState(ref: LockerRef, msg: StateMessage, now: number): boolean {
    const before = this.#locker.get(ref.locker);
    if (!before) return false;
    if (msg.online) {
      this.db
        // boot_at: the first state of a boot is sent at start-up; later ones (reconnections) keep it.
        .prepare(
          'UPDATE lockers SET online = 1, boot_at = CASE WHEN boot_id IS ? THEN boot_at ELSE ? END, boot_id = ?, fw = ?, last_seen = ? WHERE id = ?',
        )
        .run(msg.bootId, msg.ts, msg.bootId, msg.fw, now, ref.locker);
      const changed = !before.online || before.boot_id !== msg.bootId;
      if (changed) {
        this.ledger.append({
          ts: now,
          type: 'locker.online',
          actor: `device:${ref.locker}`,
          lockerId: ref.locker,
          data: {
            bootId: msg.bootId,
            fw: msg.fw,
            profile: msg.profile,
            rebooted: before.boot_id !== msg.bootId,
          },
        });
      }
      return changed;
    }
    this.db.prepare('UPDATE lockers SET online = 0, last_seen = ? WHERE id = ?').run(now, ref.locker);
    if (before.online)
      this.ledger.append({ ts: now, type: 'locker.offline', actor: 'hub', lockerId: ref.locker, data: {} });
    return false;
  }

  /** The sites whose line is down, as stored: read once, then kept up to date by `onSiteLine`. */
  #linesDown: Set<string> | undefined;

  #downLines(): Set<string> {
    this.#linesDown ??= new Set(
      this.db.prepare<[], string>('SELECT id FROM sites WHERE line_up = 0').pluck().all(),
    );
    return this.#linesDown;
  }

  /** True while the site's own broker says its line to the central broker is down. */
  lineDown(site: string): boolean {
    return this.#downLines().has(site);
  }

  /**
   * A site's own broker lost (`up` false) or regained its line to the central broker. Down: its
   * cabinets, still connected to that broker, are out of the hub's reach, offline as if each had
   * sent its last will. Up: nothing more, each cabinet's state comes through again. The state is
   * stored, so what a broker repeats (its retained message at each start of the hub) is no news,
   * nor is a first `1`. False when the site has no cabinet.
   */
  onSiteLine(site: string, up: boolean, now: number): boolean {
    const known = this.db.prepare('SELECT 1 FROM lockers WHERE site_id = ? LIMIT 1').pluck().get(site);
    if (!known) return false;
    const before = this.db
      .prepare<[string], number | null>('SELECT line_up FROM sites WHERE id = ?')
      .pluck()
      .get(site);
    if (before === (up ? 1 : 0)) return true;
    this.db.prepare('UPDATE sites SET line_up = ?, line_since = ? WHERE id = ?').run(up ? 1 : 0, now, site);
    if (before !== null || !up) {
      this.ledger.append({
        ts: now,
        type: up ? 'site.line_up' : 'site.line_down',
        actor: 'hub',
        data: { site },
      });
      if (!up) {
        const lockers = this.db
          .prepare<[string], string>('SELECT id FROM lockers WHERE site_id = ? AND online = 1')
          .pluck()
          .all(site);
        for (const locker of lockers) this.onState({ site, locker }, { online: false }, now);
      }
    }
    // Last, once every write went through: the caller's transaction holds them all.
    if (up) this.#downLines().delete(site);
    else this.#downLines().add(site);
    return true;
  }

  onlineCount(): number {
    return this.db.prepare('SELECT count(*) FROM lockers WHERE online = 1').pluck().get() as number;
  }

  /** When each cabinet was last heard (events, readings), and what of it was last written. */
  readonly #heard = new Map<string, { at: number; saved: number; phase: number }>();

  /**
   * A cabinet was heard from. Its `last_seen` is written about every PERSIST_EVERY_MS (10 s):
   * in a fleet that is one write per cabinet every 10 s instead of one per message (a page of
   * the log in every commit of device events); `writeSeen` writes what was kept back.
   */
  seen(lockerId: string, now: number): void {
    let h = this.#heard.get(lockerId);
    if (!h) {
      h = { at: now, saved: Number.NEGATIVE_INFINITY, phase: phaseOf(lockerId) };
      this.#heard.set(lockerId, h);
    }
    if (now > h.at) h.at = now;
    if (dueAgain(h.phase, h.saved, now)) this.#writeSeen(lockerId, h);
  }

  /**
   * Writes the last-seen times kept back: those heard at least PERSIST_EVERY_MS before `now` (the
   * hub calls it every second, for cabinets that went quiet), or all of them (before it stops).
   */
  writeSeen(now = Number.POSITIVE_INFINITY): void {
    for (const [lockerId, h] of this.#heard)
      if (h.saved < h.at && now - h.at >= PERSIST_EVERY_MS) this.#writeSeen(lockerId, h);
  }

  #writeSeen(lockerId: string, h: { at: number; saved: number; phase: number }): void {
    this.#seen.run(h.at, lockerId);
    h.saved = h.at;
  }

  sites(): SiteView[] {
    return this.#sites().all(this.locale).map(siteView);
  }

  site(id: string): SiteView | undefined {
    const row = this.#sites(id).get({ ...this.locale, id });
    return row && siteView(row);
  }

  /** A site's settings as it set them. */
  siteSettings(siteId: string): SiteSettings {
    const row = this.db
      .prepare<[string], SettingsRow>(
        'SELECT id, driver_doors, language, time_zone, extend_hours, extend_times FROM sites WHERE id = ?',
      )
      .get(siteId);
    if (!row) throw new HubError('HUB_ERR_SITE_NOT_FOUND', `no site ${siteId}`);
    return settingsView(row);
  }

  /**
   * Changes a site's settings, those given; the change and its ledger entry commit together.
   * `language` and `timeZone`: what its people read (null: the hub's); `extend`: its pickup policy.
   */
  setSiteSettings(
    siteId: string,
    settings: {
      driverDoors?: 'sequential' | 'all';
      language?: Language | null;
      timeZone?: string | null;
      extend?: { hours: number; times: number };
    },
    actor: string,
    now: number,
  ): SiteSettings {
    return this.db
      .transaction(() => {
        const row = this.db
          .prepare(
            `UPDATE sites SET driver_doors = coalesce(@driverDoors, driver_doors),
               language = CASE WHEN @setLanguage THEN @language ELSE language END,
               time_zone = CASE WHEN @setTimeZone THEN @timeZone ELSE time_zone END,
               extend_hours = coalesce(@extendHours, extend_hours),
               extend_times = coalesce(@extendTimes, extend_times)
             WHERE id = @siteId RETURNING id, driver_doors, language, time_zone, extend_hours, extend_times`,
          )
          .get({
            siteId,
            driverDoors: settings.driverDoors ?? null,
            setLanguage: settings.language === undefined ? 0 : 1,
            language: settings.language ?? null,
            setTimeZone: settings.timeZone === undefined ? 0 : 1,
            timeZone: settings.timeZone ?? null,
            extendHours: settings.extend?.hours ?? null,
            extendTimes: settings.extend?.times ?? null,
          }) as SettingsRow | undefined;
        if (!row) throw new HubError('HUB_ERR_SITE_NOT_FOUND', `no site ${siteId}`);
        // The cabinets' offline tables say the language: they go out again.
        if (settings.language !== undefined)
          this.db
            .prepare('UPDATE lockers SET codes_version = codes_version + 1 WHERE site_id = ?')
            .run(siteId);
        this.ledger.append({ ts: now, type: 'site.settings_changed', actor, data: { siteId, ...settings } });
        return settingsView(row);
      })
      .immediate();
  }

  #sites(id?: string) {
    return this.db.prepare<[HubLocale & { id?: string }], SiteRow>(
      `SELECT s.id, s.name, s.line_up, s.line_since, count(l.id) AS lockers, coalesce(sum(l.online), 0) AS online,
         coalesce(s.language, @language) AS language, coalesce(s.time_zone, @timeZone) AS time_zone
       FROM sites s LEFT JOIN lockers l ON l.site_id = s.id ${id === undefined ? '' : 'WHERE s.id = @id'}
       GROUP BY s.id ORDER BY s.id`,
    );
  }

  lockers(siteId?: string): LockerSummary[] {
    const rows = siteId
      ? this.db
          .prepare<[string], LockerRow>('SELECT * FROM lockers WHERE site_id = ? ORDER BY id')
          .all(siteId)
      : this.db.prepare<[], LockerRow>('SELECT * FROM lockers ORDER BY site_id, id').all();
    return rows.map(lockerView);
  }

  /** Every locker with its compartments (at `sites` only, if given), for the live feed's snapshot. */
  lockerViews(sites?: readonly string[]): LockerView[] {
    const ids = sites
      ? cached(
          this.db,
          'SELECT id FROM lockers WHERE site_id IN (SELECT value FROM json_each(?)) ORDER BY site_id, id',
          'pluck',
        ).all(JSON.stringify(sites))
      : cached(this.db, 'SELECT id FROM lockers ORDER BY site_id, id', 'pluck').all();
    return ids.map((id) => this.locker(id as string));
  }

  /**
   * One locker with its compartments. Reading it costs a join over its compartments; the answer is
   * kept until the store changes (StoreMemo).
   */
  locker(id: string): LockerView {
    return this.#views.get(id, () => this.#readLocker(id));
  }

  #readLocker(id: string): LockerView {
    const row = this.#locker.get(id);
    if (!row) throw new HubError('HUB_ERR_LOCKER_NOT_FOUND', `no locker ${id}`);
    const compartments = this.#compartments.all(id) as Array<{
      door: number;
      size: string;
      temperature_class: string;
      sensor: string | null;
      door_state: string;
      present: number | null;
      parcel_id: string | null;
      pending_action: string | null;
      parcel_state: string | null;
      last_c: number | null;
      last_ts: number | null;
      silent: number;
    }>;
    const doors = lookupProfile(this.db, row.profile)?.compartments;
    const layout = new Map(doors?.map((c) => [c.door, c.layout]));
    const sensesGoods = new Set(doors?.filter((c) => c.presence).map((c) => c.door));
    return {
      ...lockerView(row),
      compartments: compartments.map(
        (c): CompartmentView => ({
          door: c.door,
          size: c.size as CompartmentView['size'],
          temperatureClass: c.temperature_class as CompartmentView['temperatureClass'],
          sensor: c.sensor,
          doorState: c.door_state,
          occupied: c.parcel_state === 'stored' || c.parcel_state === 'quarantined',
          parcel: c.parcel_id ? { id: c.parcel_id, state: c.parcel_state ?? 'unknown' } : null,
          opening: c.pending_action,
          // A silent sensor's last value is shown as stale, never as a current, healthy reading.
          temperature: c.last_ts === null ? null : { c: c.last_c, at: c.last_ts, stale: c.silent === 1 },
          layout: layout.get(c.door) ?? null,
          goods: sensesGoods.has(c.door)
            ? c.present === null
              ? 'unknown'
              : c.present === 1
                ? 'inside'
                : 'empty'
            : null,
        }),
      ),
    };
  }
}

interface SettingsRow {
  id: string;
  driver_doors: 'sequential' | 'all';
  language: Language | null;
  time_zone: string | null;
  extend_hours: number;
  extend_times: number;
}

const settingsView = (r: SettingsRow): SiteSettings => ({
  siteId: r.id,
  driverDoors: r.driver_doors,
  language: r.language,
  timeZone: r.time_zone,
  extend: { hours: r.extend_hours, times: r.extend_times },
});
