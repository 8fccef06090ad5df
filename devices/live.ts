/**
 * The live feed between the hub and the operators' dashboard: the views the hub sends and the
 * messages on the WebSocket at `LIVE_PATH`. Types only; the hub builds these objects and the
 * dashboard reads them, so both sides are checked against one definition.
 *
 * The exchange: the client sends `{type: 'auth', token}` first; the hub answers with one
 * `snapshot`, then deltas. A delta replaces what it names (a whole locker, a whole alarm), so a
 * client never patches fields and never drifts. After a reconnection the client starts again from
 * a new snapshot. `seq` is the position in the hub's event ledger the message reflects.
 */
import type { AlarmView, LedgerEventView, LockerView, SiteView } from './api.ts';
import type { Language } from './i18n.ts';

export const LIVE_PATH = '/api/v1/live';

/** Close codes the hub uses on the live socket (4000-4999 are the application's). */
export const LIVE_CLOSE = {
  /** No auth message in time, or an unknown token. */
  unauthenticated: 4401,
  /** A token whose role may not watch the fleet. */
  forbidden: 4403,
} as const;

// The views the live feed shares with the HTTP API: their schemas are in api.ts.
export type {
  AlarmState,
  AlarmView,
  CompartmentView,
  LedgerEventView,
  LockerSummary,
  LockerView,
  SiteView,
} from './api.ts';

export interface ReadingView {
  lockerId: string;
  sensor: string;
  ts: number;
  c: number;
}

/**
 * One locker's readings in a `readings` message: its sensors named once (`s`), then one row per
 * instant, oldest first — the instant in ms after `t`, then each sensor's °C in the order of `s`
 * (null, or nothing at the end of a row, where a sensor had no reading at that instant). About 5
 * bytes a reading: a dashboard is sent every reading the hub stores.
 */
export interface LockerReadings {
  t: number;
  s: string[];
  r: Array<Array<number | null>>;
}

/** Each reading of a `readings` message, oldest first per locker. */
export function* eachReading(lockers: Record<string, LockerReadings>): Generator<ReadingView> {
  for (const [lockerId, { t, s, r }] of Object.entries(lockers))
    for (const row of r)
      for (let i = 1; i < row.length; i++) {
        const c = row[i];
        if (c !== null && c !== undefined)
          yield { lockerId, sensor: s[i - 1] as string, ts: t + (row[0] as number), c };
      }
}

export type LiveServerMessage =
  | {
      type: 'snapshot';
      seq: number;
      /** The hub's clock when the snapshot was taken. */
      at: number;
      /** The hub's own language and time zone: what the dashboard uses where no site says. */
      hub: { language: Language; timeZone: string };
      sites: SiteView[];
      lockers: LockerView[];
      /** Alarms not yet cleared. */
      alarms: AlarmView[];
      /** The latest ledger events, newest first, so a new page has some history to show. */
      recent: LedgerEventView[];
    }
  | { type: 'locker'; seq: number; locker: LockerView }
  /** A site's line to the central broker changed (its lockers' changes come as `locker`). */
  | { type: 'site'; seq: number; site: SiteView }
  | { type: 'alarm'; seq: number; alarm: AlarmView }
  | { type: 'events'; events: LedgerEventView[] }
  /** Readings stored and checked since the last message, per locker (`LockerReadings`). */
  | { type: 'readings'; lockers: Record<string, LockerReadings> }
  | { type: 'heartbeat'; at: number }
  | { type: 'error'; code: string; message: string };

export type LiveClientMessage = { type: 'auth'; token: string };
