/**
 * The live feed for the dashboard: a WebSocket at /api/v1/live that sends a snapshot of the fleet
 * on connect, then deltas (devices/live.ts describes the exchange).
 *
 * Deltas come from the ledger, not from hooks scattered through the domain: every change an
 * operator can see is a ledger event, so the feed tails the events table every `tickMs` and
 * re-reads what those events touched (a locker, an alarm). Readings, which are not ledger
 * events, arrive from the cold chain once their batch has committed. Each message is serialised
 * once whatever the number of clients; a client that reads too slowly is closed (it reconnects
 * and resyncs from a new snapshot) rather than buffered without bound.
 *
 * A snapshot of a region (2,000 cabinets: 6 MB, about 45 ms of the event loop to build and
 * serialise) is shared: the dashboards that sign in within `shareMs` of it, while no ledger event
 * came, get the same bytes followed by the readings sent since, so a hundred of them reconnecting
 * after a hub restart cost one build, not a hundred seconds of unlocks held back.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { Counter, Gauge } from 'prom-client';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import {
  type LedgerEventView,
  LIVE_CLOSE,
  LIVE_PATH,
  type LiveServerMessage,
  type LockerReadings,
  type ReadingView,
} from '../devices/index.ts';
import { eventView, type LedgerRow } from './db/ledger.ts';
import type { Db } from './db/open.ts';
import type { Alarms } from './domain/coldchain/alarms.ts';
import type { Fleet } from './domain/fleet.ts';
import type { Provisioning } from './domain/provisioning.ts';
import type { Metrics } from './metrics.ts';

export interface LiveFeedOptions {
  db: Db;
  fleet: Fleet;
  alarms: Alarms;
  provisioning: Provisioning;
  metrics: Metrics;
  log: Logger;
  now: () => number;
  /** How often the ledger is read for new events (ms). */
  tickMs?: number;
  /** How often an idle client hears from the hub (ms); silence for two of these means a dead link. */
  heartbeatMs?: number;
  /** How long a new connection has to authenticate (ms). */
  authMs?: number;
  /** Bytes queued for one client beyond which it is dropped to resync (its snapshot aside). */
  maxQueued?: number;
  /** How long a snapshot serves the clients signing in after it (ms), while no ledger event came. */
  shareMs?: number;
}

const authMessage = z.object({ type: z.literal('auth'), token: z.string().min(10).max(200) }).strict();
/** Events read per tick: a burst larger than this is spread over the next ticks. */
const TAIL_LIMIT = 2000;
/**
 * Readings gathered before they go out without waiting for the tick: under a flood the tick runs
 * late, and every stored reading still reaches the dashboards, in messages of bounded size.
 */
const SEND_AT = 4000;
/**
 * How often every client's token is checked again (ms): revoking or expiring a token cuts its
 * feeds within this, even when the command line revoked it (the store memo sees that commit).
 */
const REAUTH_MS = 500;
/** Ledger events a new client gets with its snapshot. */
const RECENT = 30;
/** Readings messages kept to bring a shared snapshot up to date; past that, a new one is built. */
const SHARE_READINGS = 32;
/**
 * How far back (in ledger events) a limited token's snapshot looks for its sites' own `site.*`
 * events, which no index finds: its lockers' come from their index however old. Reading the
 * whole ledger instead held every unlock of the hub back for as long (0.3 s a million events),
 * each time a town's desk signed in, and the more so the quieter its site.
 */
const SITE_HISTORY = 20_000;

interface Client {
  ws: WebSocket;
  alive: boolean;
  /** What it signed in with, checked again every REAUTH_MS: a revoked token is cut. */
  token: string;
  /** The sites its token is limited to (null: the whole network), and their names as one key. */
  sites: Scope | null;
  /** Bytes of its snapshot still queued: its way in, not a backlog (its dashboard reads it meanwhile). */
  snapshot: number;
}

/** The site a `site.*` event is about: `site` in most, `siteId` in settings and rules changes. */
function siteOfEvent(e: LedgerEventView): string | undefined {
  if (!e.type.startsWith('site.')) return undefined;
  const site = e.data.site ?? e.data.siteId;
  return typeof site === 'string' ? site : undefined;
}

interface Scope {
  key: string;
  has(site: string): boolean;
  list: readonly string[];
}

/** The site of each locker and parcel a message names, read once for every set of sites. */
interface Lookups {
  locker: Map<string, string | undefined>;
  /** Where a parcel is and where it is bound (null: it stays), or undefined: no such parcel. */
  parcel: Map<string, { at: string; bound: string | null } | undefined>;
  /** Whether a text names a site. */
  site: Map<string, boolean>;
}

/** Texts that may be an id (a site's, a locker's, a parcel's): short, one word. */
const MAYBE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** A snapshot serialised, and the readings messages sent since it was built, in order. */
interface Shared {
  seq: number;
  builtAt: number;
  data: Buffer;
  since: Buffer[];
}

export class LiveFeed {
  readonly #o: Required<LiveFeedOptions>;
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  readonly #clients = new Set<Client>();
  readonly #tail;
  readonly #maxSeq;
  readonly #recent;
  readonly #lockersAt;
  readonly #recentOf;
  readonly #recentSites;
  readonly #event;
  readonly #siteOf;
  readonly #siteNamed;
  readonly #parcelSite;
  #seq: number;
  /** Readings waiting to go out, per locker: what will be sent, and where its sensors and last row are. */
  readonly #readings = new Map<
    string,
    { out: LockerReadings; sensors: Map<string, number>; row: Array<number | null> | null; ts: number }
  >();
  #readingsCount = 0;
  #shared: Shared | null = null;
  #timers: NodeJS.Timeout[] = [];
  readonly #dropped: Counter;

  constructor(options: LiveFeedOptions) {
    this.#o = {
      tickMs: 100,
      heartbeatMs: 10_000,
      authMs: 5000,
      maxQueued: 4 * 1024 * 1024,
      shareMs: 1000,
      ...options,
    };
    const { db, metrics } = this.#o;
    this.#tail = db.prepare<[number, number], LedgerRow>(
      'SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?',
    );
    this.#maxSeq = db.prepare<[], number>('SELECT coalesce(max(seq), 0) FROM events').pluck();
    this.#recent = db.prepare<[number], LedgerRow>('SELECT * FROM events ORDER BY seq DESC LIMIT ?');
    // A limited token's history: its lockers' events (each from the events_locker index), and its
    // sites' own (a site's line) among the last SITE_HISTORY events.
    this.#lockersAt = db
      .prepare<[string], string>('SELECT id FROM lockers WHERE site_id IN (SELECT value FROM json_each(?))')
      .pluck();
    this.#recentOf = db
      .prepare<[string, number], number>(
        'SELECT seq FROM events WHERE locker_id = ? ORDER BY seq DESC LIMIT ?',
      )
      .pluck();
    this.#recentSites = db
      .prepare<[number, string, number], number>(
        `SELECT seq FROM events
          WHERE seq > ? AND type LIKE 'site.%'
            AND coalesce(json_extract(data, '$.site'), json_extract(data, '$.siteId'))
                IN (SELECT value FROM json_each(?))
          ORDER BY seq DESC LIMIT ?`,
      )
      .pluck();
    this.#event = db.prepare<[number], LedgerRow>('SELECT * FROM events WHERE seq = ?');
    this.#siteOf = db.prepare<[string], string>('SELECT site_id FROM lockers WHERE id = ?').pluck();
    this.#siteNamed = db.prepare<[string], number>('SELECT 1 FROM sites WHERE id = ?').pluck();
    this.#parcelSite = db.prepare<[string], { at: string; bound: string | null }>(
      `SELECT l.site_id AS at,
              coalesce(p.destination_site_id,
                       (SELECT site_id FROM lockers WHERE id = p.destination_locker_id)) AS bound
         FROM parcels p JOIN lockers l ON l.id = p.locker_id WHERE p.id = ?`,
    );
    this.#seq = this.#maxSeq.get() ?? 0;
    const clients = this.#clients;
    new Gauge({
      name: 'casier_live_clients',
      help: 'Dashboard clients connected to the live feed and signed in',
      registers: [metrics.registry],
      collect() {
        this.set(clients.size);
      },
    });
    this.#dropped = new Counter({
      name: 'casier_live_disconnects_total',
      help: 'Live feed connections closed by the hub, by reason',
      labelNames: ['reason'],
      registers: [metrics.registry],
    });
  }

  /** Takes the WebSocket upgrades of `server` at LIVE_PATH and starts the ticks. */
  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== LIVE_PATH) {
        socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#connected(ws));
    });
    const tick = setInterval(() => this.#safely(() => this.tick()), this.#o.tickMs);
    const beat = setInterval(() => this.#safely(() => this.#heartbeat()), this.#o.heartbeatMs);
    const reauth = setInterval(() => this.#safely(() => this.#reauthenticate()), REAUTH_MS);
    tick.unref();
    beat.unref();
    reauth.unref();
    this.#timers.push(tick, beat, reauth);
  }

  /** Whether anyone is shown readings: with no dashboard open, the cold chain keeps none for it. */
  get listening(): boolean {
    // A shared snapshot listens too: the readings sent after it bring it up to date.
    return this.#clients.size > 0 || this.#shared !== null;
  }

  /** Readings that just became current (called by the cold chain after its commit). */
  readings(batch: ReadonlyArray<ReadingView>): void {
    if (!this.listening) return;
    for (const r of batch) {
      let l = this.#readings.get(r.lockerId);
      if (!l) {
        l = { out: { t: r.ts, s: [], r: [] }, sensors: new Map(), row: null, ts: Number.NaN };
        this.#readings.set(r.lockerId, l);
      }
      let i = l.sensors.get(r.sensor);
      if (i === undefined) {
        i = l.out.s.push(r.sensor) - 1;
        l.sensors.set(r.sensor, i);
      }
      // A message's readings come together: they share the locker's last row.
      if (!l.row || l.ts !== r.ts) {
        l.row = [r.ts - l.out.t];
        l.ts = r.ts;
        l.out.r.push(l.row);
      }
      l.row[i + 1] = r.c; // a sensor with no reading at this instant is left a hole: null in JSON
      if (++this.#readingsCount >= SEND_AT) this.#sendReadings();
    }
  }

  #sendReadings(): void {
    if (this.#readingsCount === 0) return;
    const lockers: Record<string, LockerReadings> = {};
    for (const [id, l] of this.#readings) lockers[id] = l.out;
    this.#broadcast({ type: 'readings', lockers });
    this.#readings.clear();
    this.#readingsCount = 0;
  }

  /** Sends what changed since the last tick. Public so tests can drive it without waiting. */
  tick(): void {
    if (this.#shared && performance.now() - this.#shared.builtAt > this.#o.shareMs) this.#shared = null;
    if (!this.listening) {
      this.#seq = this.#maxSeq.get() ?? this.#seq;
      this.#readings.clear();
      this.#readingsCount = 0;
      return;
    }
    const rows = this.#tail.all(this.#seq, TAIL_LIMIT);
    if (rows.length) {
      this.#seq = (rows.at(-1) as LedgerRow).seq;
      const events: LedgerEventView[] = [];
      const lockers = new Set<string>();
      const alarms = new Set<string>();
      const sites = new Set<string>();
      for (const row of rows) {
        const { hash: _hash, ...e } = eventView(row);
        events.push(e);
        if (e.lockerId) lockers.add(e.lockerId);
        if (e.type.startsWith('alarm.') && typeof e.data.id === 'string') alarms.add(e.data.id);
        const site = siteOfEvent(e);
        if (site !== undefined) sites.add(site);
      }
      this.#broadcast({ type: 'events', events });
      for (const id of sites) {
        const site = this.#o.fleet.site(id);
        if (site) this.#broadcast({ type: 'site', seq: this.#seq, site });
      }
      for (const id of alarms) {
        const alarm = this.#o.alarms.get(id);
        if (alarm) this.#broadcast({ type: 'alarm', seq: this.#seq, alarm });
      }
      for (const id of lockers) {
        try {
          this.#broadcast({ type: 'locker', seq: this.#seq, locker: this.#o.fleet.locker(id) });
        } catch {
          // a locker named by an event but since removed: nothing to show
        }
      }
    }
    this.#sendReadings();
  }

  async close(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    for (const ws of this.#wss.clients) ws.close(1001, 'hub stopping');
    // A client that does not answer the close handshake is cut after a moment.
    await new Promise<void>((resolve) => {
      const cut = setTimeout(() => {
        for (const ws of this.#wss.clients) ws.terminate();
      }, 500);
      this.#wss.close(() => {
        clearTimeout(cut);
        resolve();
      });
    });
  }

  #connected(ws: WebSocket): void {
    const client: Client = { ws, alive: true, snapshot: 0, token: '', sites: null };
    const deadline = setTimeout(
      () => this.#refuse(ws, LIVE_CLOSE.unauthenticated, 'no auth message'),
      this.#o.authMs,
    );
    ws.on('error', () => {}); // a reset connection is closed below; nothing to report
    ws.on('pong', () => {
      client.alive = true;
    });
    ws.on('close', () => {
      clearTimeout(deadline);
      this.#clients.delete(client);
    });
    ws.once('message', (data: RawData) => {
      clearTimeout(deadline);
      let parsed: ReturnType<typeof authMessage.safeParse>;
      try {
        parsed = authMessage.safeParse(JSON.parse(data.toString()));
      } catch {
        return this.#refuse(
          ws,
          LIVE_CLOSE.unauthenticated,
          'the first message must be {"type":"auth","token":…}',
        );
      }
      if (!parsed.success)
        return this.#refuse(
          ws,
          LIVE_CLOSE.unauthenticated,
          'the first message must be {"type":"auth","token":…}',
        );
      const principal = this.#o.provisioning.authenticateToken(parsed.data.token);
      if (!principal) return this.#refuse(ws, LIVE_CLOSE.unauthenticated, 'unknown or revoked token');
      if (principal.role !== 'operator')
        return this.#refuse(ws, LIVE_CLOSE.forbidden, 'the live feed is for operator tokens');
      client.token = parsed.data.token;
      // A token limited to sites sees them only: what happens elsewhere does not exist for it.
      if (principal.sites !== null) {
        const list = [...principal.sites].sort();
        const set = new Set(list);
        client.sites = { key: list.join('\n'), has: (site) => set.has(site), list };
      }
      // Anything the client says after signing in is ignored: the feed only talks.
      ws.on('message', () => {});
      this.#joining.push(client);
      if (this.#joining.length === 1) setImmediate(() => this.#welcomeNext());
    });
  }

  /**
   * Signed-in clients waiting for their snapshot, served one per turn of the event loop: handing a
   * region's 6 MB to the kernel takes a few milliseconds a client, and a keypad entry arriving
   * during a reconnect storm waits for one of them, not for all.
   */
  readonly #joining: Client[] = [];

  #welcomeNext(): void {
    const client = this.#joining.shift();
    if (!client) return;
    this.#safely(() => this.#welcome(client));
    if (this.#joining.length) setImmediate(() => this.#welcomeNext());
  }

  #welcome(client: Client): void {
    const { ws } = client;
    if (ws.readyState !== WebSocket.OPEN) return;
    // Others get what happened so far first: every delta this client sees comes after its snapshot.
    this.#catchUp();
    if (client.sites) {
      // Its own: a few sites' snapshot is small, and shared by nobody else.
      const data = Buffer.from(JSON.stringify(this.#snapshot(client.sites)));
      client.snapshot = data.length;
      ws.send(data, { binary: false }, () => {
        client.snapshot = 0;
      });
      this.#clients.add(client);
      return;
    }
    const shared = this.#sharedSnapshot();
    client.snapshot = shared.data.length;
    ws.send(shared.data, { binary: false }, () => {
      client.snapshot = 0;
    });
    for (const data of shared.since) this.#send(client, data);
    this.#clients.add(client);
  }

  #catchUp(): void {
    const last = this.#maxSeq.get() ?? 0;
    while (this.#seq < last) {
      const before = this.#seq;
      this.tick();
      if (this.#seq === before) break;
    }
  }

  /** The snapshot shared by whoever signs in now: the last one if still current, or a new one. */
  #sharedSnapshot(): Shared {
    const s = this.#shared;
    if (s && s.seq === this.#seq && performance.now() - s.builtAt <= this.#o.shareMs) return s;
    const data = Buffer.from(JSON.stringify(this.#snapshot()));
    this.#shared = { seq: this.#seq, builtAt: performance.now(), data, since: [] };
    return this.#shared;
  }

  #snapshot(scope: Scope | null = null): LiveServerMessage {
    const { fleet, alarms, now } = this.#o;
    return {
      type: 'snapshot',
      seq: this.#seq,
      at: now(),
      // The hub's own language and time zone: a dashboard's words and times where no site says.
      hub: fleet.locale,
      sites: scope ? fleet.sites().filter((x) => scope.has(x.id)) : fleet.sites(),
      lockers: fleet.lockerViews(scope?.list),
      alarms: alarms.list({ state: 'open', limit: 1000, sites: scope?.list }),
      recent: scope
        ? this.#recentWithin(scope)
        : this.#recent.all(RECENT).map((row) => {
            const { hash: _hash, ...e } = eventView(row);
            return e;
          }),
    };
  }

  /** The latest events a token limited to `scope` may see, newest first. */
  #recentWithin(scope: Scope): LedgerEventView[] {
    const sites = JSON.stringify(scope.list);
    // Some are left out below (another site's parcel): read a few more than shown.
    const want = RECENT * 2;
    const seqs = this.#recentSites.all(this.#seq - SITE_HISTORY, sites, want);
    for (const locker of this.#lockersAt.all(sites)) seqs.push(...this.#recentOf.all(locker, want));
    const newest = [...new Set(seqs)].sort((a, b) => b - a).slice(0, want);
    const seen = this.#lookups();
    const out: LedgerEventView[] = [];
    for (const seq of newest) {
      const row = this.#event.get(seq);
      if (!row) continue;
      const { hash: _hash, ...e } = eventView(row);
      const shown = this.#eventWithin(e, scope, seen);
      if (shown) out.push(shown);
      if (out.length === RECENT) break;
    }
    return out;
  }

  /** Where lockers and parcels are, read once per message whatever the number of sets of sites. */
  #lookups(): Lookups {
    return { locker: new Map(), parcel: new Map(), site: new Map() };
  }

  /**
   * What of a ledger event a token limited to `scope` sees: its sites' own `site.*` events; the
   * others at its lockers, unless they name a parcel neither at its sites now nor bound for them
   * (the API's 404 for that parcel: one that was coming but was redirected elsewhere, its history
   * once it left; a parcel on its way there stays, its locker full on arrival is its business),
   * and without where another site's parcel is (a driver scanning a label not in the round).
   */
  #eventWithin(e: LedgerEventView, scope: Scope, seen: Lookups): LedgerEventView | null {
    const site = siteOfEvent(e);
    if (site !== undefined ? !scope.has(site) : !this.#lockerWithin(e.lockerId, scope, seen)) return null;
    if (e.parcelId && this.#foreign(e.parcelId, scope, seen)) return null;
    // Whatever its data names of another site (its id, a locker's, a parcel's), at any depth and
    // under any key, is cut (a driver's scan saying in which locker another site's parcel lies):
    // an event type to come is kept to the token's sites without a rule of its own.
    const kept = this.#cut(e.data, scope, seen, 0) as Record<string, unknown>;
    return kept === e.data ? e : { ...e, data: kept };
  }

  /** `value` without the texts that name another site's site, locker or parcel (the same if none). */
  #cut(value: unknown, scope: Scope, seen: Lookups, depth: number): unknown {
    if (depth > 4 || value === null || typeof value !== 'object') return value;
    let changed = false;
    const keep = (v: unknown) => !(typeof v === 'string' && this.#foreign(v, scope, seen));
    const next = (v: unknown) => {
      const cut = this.#cut(v, scope, seen, depth + 1);
      if (cut !== v) changed = true;
      return cut;
    };
    if (Array.isArray(value)) {
      const out = value.filter(keep).map(next);
      return changed || out.length !== value.length ? out : value;
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (keep(v)) out[k] = next(v);
      else changed = true;
    }
    return changed ? out : value;
  }

  /** Whether `text` is the id of a site, locker or parcel that `scope` does not reach. */
  #foreign(text: string, scope: Scope, seen: Lookups): boolean {
    if (!MAYBE_ID.test(text) || scope.has(text)) return false;
    let site = seen.site.get(text);
    if (site === undefined) {
      site = this.#siteNamed.get(text) !== undefined;
      seen.site.set(text, site);
    }
    if (site) return true;
    if (!seen.locker.has(text)) seen.locker.set(text, this.#siteOf.get(text));
    const lockerSite = seen.locker.get(text);
    if (lockerSite !== undefined) return !scope.has(lockerSite);
    if (!seen.parcel.has(text)) seen.parcel.set(text, this.#parcelSite.get(text));
    const where = seen.parcel.get(text);
    return where !== undefined && !scope.has(where.at) && !(where.bound !== null && scope.has(where.bound));
  }

  #lockerWithin(lockerId: string | null, scope: Scope, seen: Lookups): boolean {
    if (lockerId === null) return false;
    let site = seen.locker.get(lockerId);
    if (!seen.locker.has(lockerId)) {
      site = this.#siteOf.get(lockerId);
      seen.locker.set(lockerId, site);
    }
    return site !== undefined && scope.has(site);
  }

  /** What of `msg` a token limited to `scope` sees: null for nothing. */
  #within(msg: LiveServerMessage, scope: Scope, seen: Lookups): LiveServerMessage | null {
    const at = (lockerId: string | null) => this.#lockerWithin(lockerId, scope, seen);
    switch (msg.type) {
      case 'locker':
        return scope.has(msg.locker.siteId) ? msg : null;
      case 'site':
        return scope.has(msg.site.id) ? msg : null;
      case 'alarm':
        return at(msg.alarm.lockerId) ? msg : null;
      case 'events': {
        const events = msg.events.flatMap((e) => this.#eventWithin(e, scope, seen) ?? []);
        return events.length ? { type: 'events', events } : null;
      }
      case 'readings': {
        const lockers = Object.fromEntries(Object.entries(msg.lockers).filter(([id]) => at(id)));
        return Object.keys(lockers).length ? { type: 'readings', lockers } : null;
      }
      default:
        return msg;
    }
  }

  #refuse(ws: WebSocket, code: number, message: string): void {
    this.#dropped.inc({ reason: code === LIVE_CLOSE.forbidden ? 'forbidden' : 'unauthenticated' });
    const error: LiveServerMessage = { type: 'error', code: String(code), message };
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(error));
    ws.close(code, message.slice(0, 120));
  }

  #reauthenticate(): void {
    for (const c of [...this.#clients, ...this.#joining]) {
      if (this.#o.provisioning.authenticateToken(c.token)) continue;
      this.#clients.delete(c);
      this.#refuse(c.ws, LIVE_CLOSE.unauthenticated, 'token revoked or expired');
    }
  }

  #heartbeat(): void {
    const text = JSON.stringify({ type: 'heartbeat', at: this.#o.now() } satisfies LiveServerMessage);
    for (const c of this.#clients) {
      if (!c.alive) {
        // No pong since the last beat: the peer is gone without a close (a van out of coverage).
        this.#dropped.inc({ reason: 'dead' });
        c.ws.terminate();
        this.#clients.delete(c);
        continue;
      }
      c.alive = false;
      c.ws.ping();
      this.#send(c, text);
    }
  }

  #broadcast(msg: LiveServerMessage): void {
    // Readings bring a shared snapshot up to date; anything else (a ledger event) makes it old.
    if (msg.type !== 'readings' || (this.#shared?.since.length ?? 0) >= SHARE_READINGS) this.#shared = null;
    if (!this.listening) return;
    // Encoded once: every client's queue holds the same bytes, not a copy each; once per set of
    // sites for the tokens limited to some (nothing at all when none of it is theirs).
    const data = Buffer.from(JSON.stringify(msg));
    this.#shared?.since.push(data);
    let scoped: Map<string, Buffer | null> | undefined;
    let seen: Lookups | undefined;
    for (const c of this.#clients) {
      if (!c.sites) {
        this.#send(c, data);
        continue;
      }
      scoped ??= new Map();
      let mine = scoped.get(c.sites.key);
      if (mine === undefined) {
        seen ??= this.#lookups();
        const within = this.#within(msg, c.sites, seen);
        mine = within === msg ? data : within ? Buffer.from(JSON.stringify(within)) : null;
        scoped.set(c.sites.key, mine);
      }
      if (mine) this.#send(c, mine);
    }
  }

  #send(c: Client, data: string | Buffer): void {
    if (c.ws.readyState !== WebSocket.OPEN) return;
    if (c.ws.bufferedAmount - c.snapshot > this.#o.maxQueued) {
      this.#dropped.inc({ reason: 'too_slow' });
      this.#clients.delete(c);
      // A close frame would wait behind the backlog: cut the connection; the client resyncs.
      c.ws.terminate();
      return;
    }
    c.ws.send(data, { binary: false });
  }

  #safely(f: () => void): void {
    try {
      f();
    } catch (err) {
      this.#o.log.error({ err }, 'live feed failed');
    }
  }
}
