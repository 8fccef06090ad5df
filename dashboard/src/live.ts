/**
 * The dashboard's view of the fleet, kept live by the hub's WebSocket: a snapshot on connect,
 * then deltas. On a drop it says so, reconnects with backoff and starts again from a new
 * snapshot, so nothing patched during the outage can be missed.
 */
import {
  type AlarmView,
  eachReading,
  type LedgerEventView,
  LIVE_CLOSE,
  LIVE_PATH,
  type LiveClientMessage,
  type LiveServerMessage,
  type LockerView,
  type ReadingView,
  type SiteView,
} from '../../devices/live.ts';
import { hubSays } from './i18n.ts';

export type LinkState = 'connecting' | 'live' | 'reconnecting' | 'refused';

export interface LiveState {
  link: LinkState;
  /** When the link was last lost (browser clock), while it is down. */
  lostAt: number | null;
  /** How many snapshots this page has had: more than one means it resynced after a drop. */
  snapshots: number;
  /** The last ledger event this page knows of. */
  seq: number;
  /** The hub's own language and time zone, for what belongs to no site. */
  hub: { language: 'fr' | 'en'; timeZone: string };
  sites: SiteView[];
  lockers: Map<string, LockerView>;
  /** Alarms not cleared, by id. */
  alarms: Map<string, AlarmView>;
  /** The latest ledger events, newest first. */
  events: LedgerEventView[];
  /** Bumped when an alarm changes, so lists fetched from the API know to refresh. */
  alarmVersion: number;
}

const EVENTS_KEPT = 200;
/** The hub beats every 10 s: two missed beats and a half mean the link is dead. */
const SILENCE_MS = 25_000;

export class LiveStore {
  state: LiveState = {
    link: 'connecting',
    lostAt: null,
    snapshots: 0,
    seq: 0,
    hub: { language: 'en', timeZone: 'UTC' },
    sites: [],
    lockers: new Map(),
    alarms: new Map(),
    events: [],
    alarmVersion: 0,
  };
  /** Hub clock minus browser clock, from the last snapshot and heartbeats. */
  clockOffset = 0;
  readonly #listeners = new Set<() => void>();
  readonly #readingListeners = new Set<(r: ReadingView[]) => void>();
  readonly #eventListeners = new Set<(e: LedgerEventView[]) => void>();
  #ws: WebSocket | null = null;
  #token = '';
  #retryMs = 500;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #silence: ReturnType<typeof setTimeout> | undefined;
  #notifyQueued = false;
  #closed = false;

  constructor(private readonly onRefused: () => void) {}

  hubNow(): number {
    return Date.now() + this.clockOffset;
  }

  subscribe(f: () => void): () => void {
    this.#listeners.add(f);
    return () => this.#listeners.delete(f);
  }

  onReadings(f: (r: ReadingView[]) => void): () => void {
    this.#readingListeners.add(f);
    return () => this.#readingListeners.delete(f);
  }

  onEvents(f: (e: LedgerEventView[]) => void): () => void {
    this.#eventListeners.add(f);
    return () => this.#eventListeners.delete(f);
  }

  connect(token: string): void {
    this.#token = token;
    this.#closed = false;
    this.#open();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
    clearTimeout(this.#silence);
    this.#ws?.close();
    this.#ws = null;
  }

  #open(): void {
    const url = new URL(LIVE_PATH, location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(url);
    this.#ws = ws;
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: 'auth', token: this.#token } satisfies LiveClientMessage));
      this.#watch();
    };
    ws.onmessage = (e) => {
      this.#watch();
      try {
        this.#apply(JSON.parse(String(e.data)) as LiveServerMessage);
      } catch (err) {
        console.error('live feed: unreadable message', err);
      }
    };
    ws.onclose = (e) => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      clearTimeout(this.#silence);
      if (this.#closed) return;
      if (e.code === LIVE_CLOSE.unauthenticated || e.code === LIVE_CLOSE.forbidden) {
        this.#set({ link: 'refused' });
        this.onRefused();
        return;
      }
      this.#set({ link: 'reconnecting', lostAt: this.state.lostAt ?? Date.now() });
      this.#retry = setTimeout(() => this.#open(), this.#retryMs);
      this.#retryMs = Math.min(this.#retryMs * 2, 5000);
    };
  }

  /** Nothing heard for too long: the link is dead even if no close came (a van out of coverage). */
  #watch(): void {
    clearTimeout(this.#silence);
    this.#silence = setTimeout(() => this.#ws?.close(), SILENCE_MS);
  }

  #apply(m: LiveServerMessage): void {
    const s = this.state;
    switch (m.type) {
      case 'snapshot':
        this.clockOffset = m.at - Date.now();
        this.#retryMs = 500;
        hubSays(m.hub.language);
        this.#set({
          link: 'live',
          lostAt: null,
          snapshots: s.snapshots + 1,
          seq: m.seq,
          hub: m.hub,
          sites: m.sites,
          lockers: new Map(m.lockers.map((l) => [l.id, l])),
          alarms: new Map(m.alarms.map((a) => [a.id, a])),
          events: m.recent,
          alarmVersion: s.alarmVersion + 1,
        });
        break;
      case 'locker': {
        const lockers = new Map(s.lockers).set(m.locker.id, m.locker);
        this.#set({ lockers, sites: recount(s.sites, lockers) });
        break;
      }
      case 'site':
        this.#set({
          sites: recount(
            s.sites.map((x) => (x.id === m.site.id ? m.site : x)),
            s.lockers,
          ),
        });
        break;
      case 'alarm': {
        const alarms = new Map(s.alarms);
        if (m.alarm.state === 'cleared') alarms.delete(m.alarm.id);
        else alarms.set(m.alarm.id, m.alarm);
        this.#set({ alarms, alarmVersion: s.alarmVersion + 1 });
        break;
      }
      case 'events': {
        // The snapshot already shows what happened up to its seq.
        const fresh = m.events.filter((e) => e.seq > s.seq);
        if (!fresh.length) break;
        // The hub stamps events with its own clock: the freshest one says what time it is there.
        this.clockOffset = Math.max(this.clockOffset, (fresh.at(-1) as LedgerEventView).ts - Date.now());
        this.#set({
          seq: (fresh.at(-1) as LedgerEventView).seq,
          events: [...fresh].reverse().concat(s.events).slice(0, EVENTS_KEPT),
        });
        for (const f of this.#eventListeners) f(fresh);
        break;
      }
      case 'readings': {
        const lockers = new Map(s.lockers);
        for (const [lockerId, entries] of Object.entries(m.lockers)) {
          const l = lockers.get(lockerId);
          if (!l) continue;
          // Each sensor's latest value, then one new locker whatever the number of readings.
          const latest = new Map<string, { c: number; at: number }>();
          for (const r of eachReading({ [lockerId]: entries })) latest.set(r.sensor, { c: r.c, at: r.ts });
          lockers.set(lockerId, {
            ...l,
            compartments: l.compartments.map((c) => {
              const t = c.sensor ? latest.get(c.sensor) : undefined;
              return t ? { ...c, temperature: { ...t, stale: false } } : c;
            }),
          });
        }
        this.#set({ lockers });
        if (this.#readingListeners.size) {
          const readings = [...eachReading(m.lockers)];
          for (const f of this.#readingListeners) f(readings);
        }
        break;
      }
      case 'heartbeat':
        this.clockOffset = m.at - Date.now();
        break;
      case 'error':
        console.warn(`live feed: ${m.message}`);
        break;
    }
  }

  #set(patch: Partial<LiveState>): void {
    this.state = { ...this.state, ...patch };
    // Many deltas in one burst render once.
    if (this.#notifyQueued) return;
    this.#notifyQueued = true;
    queueMicrotask(() => {
      this.#notifyQueued = false;
      for (const f of this.#listeners) f();
    });
  }
}

/** Sites' online counts follow the lockers' deltas. */
function recount(sites: SiteView[], lockers: Map<string, LockerView>): SiteView[] {
  return sites.map((site) => {
    const mine = [...lockers.values()].filter((l) => l.siteId === site.id);
    return { ...site, lockers: mine.length, online: mine.filter((l) => l.online).length };
  });
}
