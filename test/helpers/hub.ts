/** Starts a real hub on ephemeral loopback ports in a temporary data directory. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimLocker } from '../../cli/sim-locker.ts';
import { findProfile, type LockerRef, type OfflineCost } from '../../devices/index.ts';
import { type HubConfig, type RunningHub, startHub } from '../../hub/service.ts';

/**
 * The offline hashes' scrypt cost in tests: microseconds, where the production cost is 120 ms of a
 * core for each code created and each code typed offline. test/bridge/stolen-bridge.test.ts runs
 * the production cost end to end.
 */
export const LIGHT_OFFLINE_COST: OfflineCost = { N: 16, r: 1, p: 1 };

// biome-ignore lint/suspicious/noExplicitAny: tests check API responses field by field
type Json = any;

export interface TestHub {
  hub: RunningHub;
  dataDir: string;
  operator: string;
  integration: string;
  api: (
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ) => Promise<{ status: number; body: Json }>;
  /**
   * Provisions a cabinet and starts it: the real bridge and driver, a simulated board, an
   * in-memory serial line between them (cli/sim-locker.ts).
   */
  locker: (
    ref: LockerRef,
    profile?: string,
    /** `url`: the broker it connects to, when not the hub's (a site's own broker). */
    opts?: {
      resendMs?: number;
      ackWaitMs?: number;
      url?: string;
      replyTimeoutMs?: number;
      flipRate?: number;
      telemetryBuffer?: number;
      siteBroker?: boolean;
      /** The cabinet's own clock, when not the hub's (a Pi whose time is wrong). */
      now?: () => number;
    },
  ) => Promise<SimLocker>;
  /**
   * Ticks the hub (its periodic work, at its clock) then checks, until `check` holds: for what
   * arrives over the network and is acted on at the next tick (`manualTicks` hubs).
   */
  ticked: <T>(check: () => T | Promise<T>, ms?: number, what?: string) => Promise<NonNullable<Awaited<T>>>;
  /** Stops the hub, runs `meanwhile` while it is down, starts it again on the same ports. */
  restart: (meanwhile?: () => Promise<void>) => Promise<void>;
  close: () => Promise<void>;
}

export async function startTestHub(
  overrides: Partial<HubConfig> = {},
  extras: {
    /** Gives an external broker a new cabinet's credentials before it connects. */
    registerDevice?: (username: string, password: string) => Promise<void>;
  } = {},
): Promise<TestHub> {
  const dataDir = mkdtempSync(join(tmpdir(), 'casier-test-'));
  const config: HubConfig = {
    dataDir,
    host: '127.0.0.1',
    httpPort: 0,
    mqttPort: 0,
    codeDigits: 8,
    // The tests' webhook receivers listen on loopback, which a hub refuses by default.
    outboundAllow: ['127.0.0.1'],
    offlineCost: LIGHT_OFFLINE_COST,
    // Whatever the machine's zone, times in tests read the same.
    timeZone: 'UTC',
    logLevel: process.env.CASIER_TEST_LOG ?? 'silent',
    ...overrides,
  };
  // A hub that fails to start (a broker refusing it) leaves no store behind.
  const hub = await startHub(config).catch((err: unknown) => {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  });
  const t: TestHub = {
    hub,
    dataDir,
    operator: '',
    integration: '',
    async api(method, path, body, token = t.operator) {
      const res = await fetch(`http://127.0.0.1:${t.hub.httpPort}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      return {
        status: res.status,
        body: text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text,
      };
    },
    async locker(ref, profile = 'town-locker-16', opts = {}) {
      const dev = t.hub.provisioning.addDevice(ref, profile, 'test');
      await extras.registerDevice?.(`${ref.site}/${ref.locker}`, dev.password);
      const locker = new SimLocker({
        ...ref,
        url: opts.url ?? t.hub.mqttUrl,
        password: dev.password,
        profile: findProfile(profile) as NonNullable<ReturnType<typeof findProfile>>,
        resendMs: opts.resendMs ?? 300,
        ackWaitMs: opts.ackWaitMs,
        // The board answers within milliseconds in memory: a board that does not is found out fast.
        replyTimeoutMs: opts.replyTimeoutMs ?? 1000,
        flipRate: opts.flipRate,
        telemetryBuffer: opts.telemetryBuffer,
        siteBroker: opts.siteBroker,
        // The cabinet shares the hub's clock, virtual or not, unless the test gives it its own.
        now: opts.now ?? config.now,
      });
      lockers.push(locker);
      await locker.start();
      // Connected is not yet online: the hub has to have applied the cabinet's `state` message.
      const online = t.hub.db.prepare('SELECT online FROM lockers WHERE id = ?').pluck();
      await eventually(() => online.get(ref.locker) === 1, 5000, `${ref.locker} online at the hub`);
      return locker;
    },
    ticked: (check, ms, what) =>
      eventually(
        async () => {
          await t.hub.tick();
          return check();
        },
        ms,
        what,
      ),
    async restart(meanwhile) {
      await t.hub.stop();
      await meanwhile?.();
      // Same ports, so the cabinets' clients reconnect to where they were.
      t.hub = await startHub({ ...config, httpPort: t.hub.httpPort, mqttPort: t.hub.mqttPort ?? 0 });
    },
    async close() {
      await Promise.allSettled(lockers.map((c) => c.stop()));
      await t.hub.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  const lockers: SimLocker[] = [];
  t.operator = t.hub.provisioning.createToken('operator', 'test operator', 'test').token;
  t.integration = t.hub.provisioning.createToken('integration', 'test platform', 'test').token;
  return t;
}

/** Resolves when `emitter` emits `event` with arguments matching `match`; rejects after `ms`. */
export function waitFor<A extends unknown[]>(
  emitter: NodeJS.EventEmitter,
  event: string,
  match: (...args: A) => boolean = () => true,
  ms = 5000,
): Promise<A> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`timed out after ${ms} ms waiting for ${event}`));
    }, ms);
    const listener = (...args: unknown[]) => {
      if (!match(...(args as A))) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args as A);
    };
    emitter.on(event, listener);
  });
}

/** `promise`, or a rejection naming `what` after `ms`: a step that never settles says which it was. */
export function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Polls `check` until it returns a truthy value; rejects after `ms`. */
export async function eventually<T>(
  check: () => T | Promise<T>,
  ms = 5000,
  what = 'condition',
): Promise<NonNullable<Awaited<T>>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<Awaited<T>>;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
