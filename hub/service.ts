/**
 * The hub's composition root: store, domain, broker, device link, dispatcher and HTTP API wired
 * together. Nothing else constructs these pieces.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { Gauge } from 'prom-client';
import { type Language, machineTimeZone, OFFLINE_COST, type OfflineCost } from '../devices/index.ts';
import { buildApp } from './api/app.ts';
import { auditRoutes } from './api/audit-routes.ts';
import { coldChainRoutes } from './api/coldchain-routes.ts';
import { customerPage } from './api/customer-page.ts';
import { customerRoutes } from './api/customer-routes.ts';
import { labelRoutes } from './api/label-routes.ts';
import { apiRoutes } from './api/routes.ts';
import { webhookRoutes } from './api/webhook-routes.ts';
import { type EmbeddedBroker, startEmbeddedBroker } from './broker/embedded.ts';
import { HUB_USERNAME } from './broker/policy.ts';
import type { PreLoginLimits } from './broker/pre-login.ts';
import { CodeTables } from './code-tables.ts';
import { Components } from './components.ts';
import { Checkpointer } from './db/checkpointer.ts';
import type { Db } from './db/open.ts';
import { type SyncFile, WalSync } from './db/wal-sync.ts';
import { Dispatcher } from './dispatcher.ts';
import { Access } from './domain/access.ts';
import { AuditAnchors, auditCheck, parseTarget } from './domain/audit-anchor.ts';
import { Clocks } from './domain/clocks.ts';
import { Alarms } from './domain/coldchain/alarms.ts';
import { ColdChain } from './domain/coldchain/coldchain.ts';
import { RecordSealer } from './domain/coldchain/record.ts';
import { pruneReadings, type Retention } from './domain/coldchain/retention.ts';
import { SiteRules } from './domain/coldchain/site-rules.ts';
import { Watchdog } from './domain/coldchain/watchdog.ts';
import { Commands } from './domain/commands.ts';
import type { CustomerLinks } from './domain/customer-links.ts';
import { ParcelLifecycle } from './domain/lifecycle.ts';
import { LockerEvents } from './domain/locker-events.ts';
import { EmailChannel } from './domain/notify/channels.ts';
import { CustomerNotices } from './domain/notify/customer.ts';
import { AlarmMail } from './domain/notify/mail.ts';
import { OutboundPolicy } from './domain/notify/outbound.ts';
import { SmsChannel, type SmsConfig } from './domain/notify/sms.ts';
import type { MailConfig } from './domain/notify/smtp.ts';
import { Webhooks } from './domain/notify/webhooks.ts';
import { ParcelPages } from './domain/parcel-page.ts';
import type { Parcels } from './domain/parcels.ts';
import { PickupWindows } from './domain/pickup-window.ts';
import type { Provisioning } from './domain/provisioning.ts';
import { DEFAULT_REMOTE_OPEN_BUDGET, type RemoteOpenBudget, RemoteOpens } from './domain/remote-opens.ts';
import { Transit } from './domain/transit.ts';
import { Voice } from './domain/voice.ts';
import { Ingest } from './ingest.ts';
import { DeviceLink, type Link, LocalLink } from './link.ts';
import { LiveFeed } from './live.ts';
import { createMetrics } from './metrics.ts';
import { OfflineHashes } from './offline-hashes.ts';
import { openStore } from './store.ts';

export const VERSION = '0.1.0';

export interface HubConfig {
  dataDir: string;
  host: string;
  httpPort: number;
  /** Port of the embedded broker; ignored when `mqttUrl` points at an external broker. */
  mqttPort: number;
  mqttUrl?: string;
  mqttUsername?: string;
  mqttPassword?: string;
  /** PEM certificate(s) of the authority that signed an external broker's TLS certificate (mqtts://). */
  mqttCa?: string;
  /**
   * The sites this hub owns when several hubs share one external broker: it subscribes only to their
   * topics. Empty or absent: every site.
   */
  sites?: string[];
  codeDigits: number;
  /**
   * Private or loopback addresses (or host names) webhooks may go to: a platform inside the
   * operator's network. None by default (hub/domain/notify/outbound.ts).
   */
  outboundAllow?: string[];
  /** What keypads say where their site has no language of its own (devices/i18n.ts); default English. */
  language?: Language;
  /** The IANA time zone of sites without their own (default: the machine's). */
  timeZone?: string;
  /**
   * Where customers reach the hub: the start of their parcel pages' links (`https://lockers.example`).
   * Default: this hub's own address and port, right for a demo only.
   */
  publicUrl?: string;
  /** How many remote opens a token and a site may make (hub/domain/remote-opens.ts). */
  remoteOpenBudget?: Partial<RemoteOpenBudget>;
  /**
   * Where the hub anchors its ledger's head every hour (`file:/path` or an http(s) URL,
   * hub/domain/audit-anchor.ts); none: only `casier audit anchor` does.
   */
  auditAnchor?: string;
  /** Bounds on MQTT connections not logged in yet (hub/broker/pre-login.ts); defaults otherwise. */
  mqttPreLogin?: Partial<PreLoginLimits>;
  /**
   * The scrypt cost of the offline codes' hashes (docs/security.md §9); `OFFLINE_COST` unless a test
   * wants them cheap. Hashes already stored are not recomputed when it changes.
   */
  offlineCost?: OfflineCost;
  /** `/metrics` requires this bearer token; none: open (a hub on a private network). */
  metricsToken?: string;
  /** Serve the dashboard's source maps (development only). */
  sourceMaps?: boolean;
  logLevel: string;
  log?: Logger;
  /** The hub's clock; tests pass a controllable one. */
  now?: () => number;
  /** How often buffered readings are written (ms). */
  flushMs?: number;
  /** How long readings are kept. */
  retention?: Retention;
  /** How often webhook deliveries are queued and sent (ms). */
  notifyMs?: number;
  /** Where alarm e-mails go out (none: no e-mail is sent; the contacts are kept all the same). */
  smtp?: MailConfig;
  /**
   * The HTTP gateway customers' SMS go through (hub/domain/notify/sms.ts); none: no SMS. E-mail
   * notices go through `smtp`.
   */
  sms?: SmsConfig;
  /**
   * How long a hole in a cabinet's event numbering holds its later events while it is online
   * before the missing ones count as lost (ms, default 30 s: ten of the bridge's re-send periods).
   */
  gapHoldMs?: number;
  /** The built dashboard served at `/` (default: dashboard/dist beside the hub's code). */
  dashboardDir?: string;
  /** Syncs the store's write-ahead log (default fdatasync); tests stand in for a slow or failing disk. */
  syncWal?: SyncFile;
  /**
   * The periodic work (dispatcher, sweeps, deadlines, flusher, notifier) runs only when `tick()`
   * is called: a test keeps the clock and drives it, nothing waits for a timer.
   */
  manualTicks?: boolean;
}

const DASHBOARD_DIR = resolve(import.meta.dirname, '../dashboard/dist');

export interface RunningHub {
  httpPort: number;
  mqttPort: number | undefined;
  mqttUrl: string;
  db: Db;
  provisioning: Provisioning;
  parcels: Parcels;
  /** Customers' parcel page links. */
  links: CustomerLinks;
  dispatcher: Dispatcher;
  /**
   * One round of all the hub's periodic work at `now` (its clock by default), in start order;
   * resolves when it is done, webhook deliveries included. Buffered readings are only queued: they
   * are written in the next turns of the event loop, once the disk is free (a test holding the
   * disk's syncs can still tick), so a test waits for them with `ticked`.
   */
  tick(now?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startHub(config: HubConfig): Promise<RunningHub> {
  const now = config.now ?? Date.now;
  const log = config.log ?? pino({ level: config.logLevel, base: { svc: 'hub' } });
  let stopped = false;
  const metrics = createMetrics();
  // A mistyped anchor target stops the start before anything is opened.
  const anchorTarget = config.auditAnchor ? parseTarget(config.auditAnchor) : undefined;
  const store = openStore(config.dataDir, config.codeDigits, now);
  const { db, hubKey, ledger, codes, provisioning, parcels, fleet } = store;
  // Commits do not wait for the disk; what the hub promises waits for the next sync (wal-sync.ts),
  // and the rest is synced within a tenth of a second.
  const walSync = new WalSync(db.name, config.syncWal).attach(db).keepUp(db, 100);
  const checkpoints = new Checkpointer(db, log.child({ mod: 'store' }), { hold: () => walSync.hold() });
  walSync.timed = (seconds) => metrics.syncSeconds.observe(seconds);
  new Gauge({
    name: 'casier_store_syncs_total',
    help: 'Syncs of the write-ahead log to disk since the hub started, by result; a failed one leaves events unacknowledged',
    labelNames: ['result'],
    registers: [metrics.registry],
    collect() {
      this.set({ result: 'ok' }, walSync.syncs - walSync.failures);
      this.set({ result: 'failed' }, walSync.failures);
    },
  });
  new Gauge({
    name: 'casier_store_wal_pages',
    help: 'Pages in the write-ahead log at the last checkpoint, by whether they were copied back into the database',
    labelNames: ['copied'],
    registers: [metrics.registry],
    collect() {
      this.set({ copied: 'yes' }, checkpoints.walPages - checkpoints.behind);
      this.set({ copied: 'no' }, checkpoints.behind);
    },
  });
  new Gauge({
    name: 'casier_store_checkpoint_failures_total',
    help: 'Checkpoints that failed (each is tried again at the next one, within a second)',
    registers: [metrics.registry],
    collect() {
      this.set(checkpoints.failures);
    },
  });
  const commands = new Commands(db);
  const alarms = new Alarms(db, ledger);
  // What keypads say, in their site's language or the hub's.
  const locale = { language: config.language ?? 'en', timeZone: config.timeZone ?? machineTimeZone() };
  const voice = new Voice(db, locale.language, locale.timeZone);
  fleet.locale = locale;
  const transit = new Transit(db, ledger, codes, commands, voice);
  const lockerEvents = new LockerEvents(db, ledger, codes, commands, alarms, transit, voice);
  const siteRules = new SiteRules(db, ledger);
  const coldChain = new ColdChain(
    db,
    ledger,
    alarms,
    now,
    (lockerId, cls) => siteRules.forLocker(lockerId, cls),
    (lockerId, at) => fleet.seen(lockerId, at),
  );
  const watchdog = new Watchdog(db, alarms, now);
  const outbound = new OutboundPolicy(config.outboundAllow);
  const webhooks = new Webhooks(
    db,
    ledger,
    parcels,
    log.child({ mod: 'webhooks' }),
    now,
    outbound,
    (l, cls) => siteRules.forLocker(l, cls),
  );
  const anchors =
    anchorTarget && new AuditAnchors(db, hubKey, anchorTarget, outbound, log.child({ mod: 'audit' }));
  new Gauge({
    name: 'casier_readings_total',
    help: 'Sensor readings since the hub started: stored, or refused for a timestamp in the future or before the boot that sent them, out of order, from a sensor not in the cabinet profile (unknownSensor), a probe fault code (fault), or dropped with a message the hub failed to store (failed)',
    labelNames: ['result'],
    registers: [metrics.registry],
    collect() {
      for (const [result, n] of Object.entries(coldChain.stats)) this.set({ result }, n);
    },
  });

  // Until a cabinet says otherwise, it is offline: a crash left nothing we can trust. Code tables
  // are published again at start: an embedded broker forgot its retained messages.
  db.prepare('UPDATE lockers SET online = 0, codes_published = -1').run();

  let broker: EmbeddedBroker | undefined;
  let mqttUrl = config.mqttUrl;
  let ingest: Ingest | undefined;
  const onMessage = (t: string, p: Buffer, retained = false) => ingest?.handle(t, p, retained);
  let link: Link;
  if (mqttUrl) {
    link = new DeviceLink({
      url: mqttUrl,
      username: config.mqttUsername ?? HUB_USERNAME,
      password: config.mqttPassword ?? '',
      clientId: `${HUB_USERNAME}-${randomBytes(4).toString('hex')}`,
      sites: config.sites,
      ca: config.mqttCa,
      log: log.child({ mod: 'link' }),
      onMessage,
    });
  } else {
    broker = await startEmbeddedBroker({
      host: config.host,
      port: config.mqttPort,
      authenticateDevice: (ref, password) => provisioning.authenticateDevice(ref, password),
      metrics,
      log: log.child({ mod: 'broker' }),
      now,
      preLogin: config.mqttPreLogin,
    });
    mqttUrl = `mqtt://${config.host}:${broker.port}`;
    link = new LocalLink(broker.local, onMessage);
  }
  // Each cabinet's clock, as its messages show it: its times are put on the hub's, and what the hub
  // sends it (command expiry, the offline code table) on its own.
  const clocks = new Clocks(alarms, db, (lockerId) => codeTables.announced(lockerId));
  const dispatcher = new Dispatcher(
    db,
    commands,
    lockerEvents,
    link,
    metrics,
    log.child({ mod: 'dispatch' }),
    now,
    clocks,
  );
  const offlineCost = config.offlineCost ?? OFFLINE_COST;
  const codeTables = new CodeTables(db, link, log.child({ mod: 'codes' }), offlineCost, clocks, voice);
  const offlineHashes = new OfflineHashes(codes, offlineCost, log.child({ mod: 'offline-hashes' }), () =>
    codeTables.publishDue(),
  );
  ingest = new Ingest(
    db,
    ledger,
    fleet,
    lockerEvents,
    metrics,
    log.child({ mod: 'ingest' }),
    {
      durable: (done) => walSync.after(done),
      commitSoon: (commit, urgent) => walSync.commitSoon(commit, urgent),
      // QoS 1 like everything the hub sends a cabinet, although a lost ack only costs a re-send:
      // aedes discards a QoS 1 message that a QoS 0 one to the same client overtook (moscajs/aedes#994).
      ack: (ref, ids) => link.publish(ref, 'events/ack', { ids }),
      send: (lockerId, list) => dispatcher.send(lockerId, list),
      announced: (lockerId) => codeTables.announced(lockerId),
      cameOnline: (lockerId) => {
        coldChain.forgetBoot(lockerId);
        dispatcher.resendOpen(lockerId);
      },
      telemetry: (lockerId, msg) => coldChain.add(lockerId, msg),
    },
    now,
    clocks,
    (code) => codes.hash(code),
    config.gapHoldMs,
  );
  try {
    await link.start();
  } catch (err) {
    // A broker that refuses the hub (credentials, certificate) leaves nothing running behind.
    await link.stop().catch(() => {});
    await broker?.close();
    await checkpoints.close();
    await walSync.close();
    db.close();
    throw err;
  }
  const lifecycle = new ParcelLifecycle(db, ledger);
  // Known once the API listens, unless configured.
  const links = store.links;
  links.baseUrl = config.publicUrl?.replace(/\/+$/, '') ?? '';
  // The customer's page: their pickup window, their code on request, their parcel's journey.
  const windows = new PickupWindows(db, ledger, codes, parcels);
  const pages = new ParcelPages(db, ledger, parcels, codes, windows, voice, (l, cls) =>
    siteRules.forLocker(l, cls),
  );
  const alarmMail = new AlarmMail(db, ledger, log.child({ mod: 'mail' }), config.smtp, voice);
  // Customers hear of their parcel on every channel configured they gave an address for.
  const customerNotices = new CustomerNotices(db, ledger, log.child({ mod: 'notices' }), voice, links, [
    ...(config.smtp ? [new EmailChannel(config.smtp)] : []),
    ...(config.sms ? [new SmsChannel(config.sms, outbound)] : []),
  ]);
  // Readings are written in batches every second, about a millisecond per transaction; the rest
  // follows in the next turns of the event loop, after device events and never while a sync is
  // awaited. Each commit writes again every page it touches (the last page of the telemetry, the
  // database header, the cabinets' sensor states): every 250 ms, the hub wrote twice as much to
  // its disk at 200 cabinets (bench/fleet.ts, disk writes).
  let readingsQueued = false;
  const flushSome = () => {
    readingsQueued = false;
    if (stopped) return;
    try {
      if (coldChain.flushChunk() > 0) queueReadings();
    } catch (err) {
      log.error({ err }, 'storing readings failed');
    }
  };
  const queueReadings = () => {
    if (readingsQueued) return;
    readingsQueued = true;
    walSync.commitSoon(flushSome);
  };
  // Started in this order, stopped in the reverse one.
  const components = new Components(
    [
      dispatcher,
      offlineHashes,
      codeTables,
      ...(broker ? [broker.strangers] : []),
      { name: 'readings', everyMs: config.flushMs ?? 1000, tick: queueReadings },
      {
        name: 'cold-chain',
        everyMs: 1000,
        tick: (at) => {
          coldChain.sweepKeptBack(at);
          db.transaction(() => fleet.writeSeen(at))();
          coldChain.sweepSilent(at);
          // Deposits and pickups heard of after the readings around them are settled from the store.
          for (const f of coldChain.settleMoves())
            log.error({ err: f.err, parcel: f.parcelId }, 'settling a parcel from the store failed');
          coldChain.sweepExposure(at);
          watchdog.sweep(at);
        },
      },
      { name: 'event-order', everyMs: 1000, tick: (at) => ingest?.sweepGaps(at) },
      // Records are sealed at pickup before the readings they are drawn from can be pruned.
      new RecordSealer(db, (lockerId, cls) => siteRules.forLocker(lockerId, cls)),
      { name: 'retention', everyMs: 1000, tick: (at) => pruneReadings(db, at, config.retention) },
      // Deadlines are checked every second on the hub's clock.
      {
        name: 'deadlines',
        everyMs: 1000,
        tick: (at) => {
          void lifecycle.expireDue(at);
          // Doors released and never opened return to service.
          db.transaction(() => lockerEvents.notOpened(at))();
        },
      },
      alarmMail,
      customerNotices,
      // A sealed code past its deadline is wiped even when nothing ends it (a return code runs out).
      { name: 'sealed-codes', everyMs: 60_000, tick: (at) => codes.wipeLapsedSeals(at) },
      {
        name: 'notifier',
        everyMs: config.notifyMs ?? 500,
        tick: async () => {
          webhooks.enqueue();
          await webhooks.send();
        },
      },
      ...(anchors ? [anchors] : []),
    ],
    now,
    log,
    config.manualTicks,
  );
  components.start();

  const access = new Access(db);
  const app = buildApp({
    routes: [
      ...apiRoutes({
        access,
        transit,
        provisioning,
        db,
        parcels,
        lifecycle,
        fleet,
        lockerEvents,
        commands,
        remoteOpens: new RemoteOpens(db, ledger, alarms, {
          ...DEFAULT_REMOTE_OPEN_BUDGET,
          ...config.remoteOpenBudget,
        }),
        // An operator's command leaves once what the route committed with it is on disk.
        send: (l, c) => walSync.after(() => dispatcher.send(l, c)),
        now,
      }),
      ...coldChainRoutes({
        db,
        access,
        alarms,
        parcels,
        lifecycle,
        siteRules,
        now,
        persist: (lockerId) => coldChain.persist(lockerId),
        timeZoneOf: (lockerId) => voice.ofLocker(lockerId).timeZone,
        mail: alarmMail,
        calibrate: (lockerId, sensor, c, actor) =>
          db
            .transaction(() => {
              const at = now();
              coldChain.calibrate(lockerId, sensor, c.offsetC, at, c.reference);
              ledger.append({ ts: at, type: 'sensor.calibrated', actor, lockerId, data: { sensor, ...c } });
              return { offsetC: c.offsetC, calibratedAt: at, reference: c.reference };
            })
            .immediate(),
      }),
      ...webhookRoutes(webhooks),
      ...auditRoutes(() => auditCheck(db, hubKey, anchors)),
      ...customerRoutes({ access, parcels, links, windows, now }),
      ...labelRoutes({
        access,
        parcels,
        fleet,
        links,
        voice,
        rulesFor: (l, cls) => siteRules.forLocker(l, cls),
      }),
    ],
    provisioning,
    metrics,
    log: log.child({ mod: 'api' }),
    version: VERSION,
    dashboardDir: config.dashboardDir ?? DASHBOARD_DIR,
    metricsToken: config.metricsToken,
    sourceMaps: config.sourceMaps,
    durable: () => walSync.durable(),
  });
  void app.register(customerPage({ links, pages, windows, language: locale.language, now }));
  const live = new LiveFeed({
    db,
    fleet,
    alarms,
    provisioning,
    metrics,
    log: log.child({ mod: 'live' }),
    now,
  });
  coldChain.onStored = live;
  live.attach(app.server);

  /** Stops taking messages, stores what was received, then closes the store. Safe to call twice. */
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await components.stop();
    await live.close();
    await app.close();
    await link.stop();
    // Events and readings that arrived up to the link's close are stored before the store closes.
    ingest.flush();
    coldChain.flush();
    coldChain.persist();
    fleet.writeSeen();
    await broker?.close();
    await checkpoints.close();
    await walSync.close();
    db.close();
    log.info('hub stopped');
  };
  try {
    await app.listen({ host: config.host, port: config.httpPort });
  } catch (err) {
    // A taken port leaves nothing running behind.
    await stop().catch(() => {});
    throw err;
  }
  const address = app.server.address();
  const httpPort = typeof address === 'object' && address ? address.port : config.httpPort;
  if (!config.publicUrl) links.baseUrl = `http://${config.host}:${httpPort}`;
  log.info({ httpPort, mqttUrl }, 'hub started');

  return {
    httpPort,
    mqttPort: broker?.port,
    mqttUrl,
    db,
    provisioning,
    parcels,
    links,
    dispatcher,
    tick: (at) => components.tick(at),
    stop,
  };
}
