/**
 * The crash soak (issue 18): a real hub killed with SIGKILL again and again under a real workload,
 * then its store held against what physically happened.
 *
 *   npm run soak -- --broker embedded|mosquitto --kills N [--broker-restarts M] [--cabinets K] [--seed S] [--keep]
 *
 * K cabinets (real `casier bridge` processes, each on a socat pseudo-terminal to a casier board
 * simulated here) against `casier hub` in a child process, on its embedded broker or on Debian's
 * Mosquitto (casier's ACL, persistence off). Parcels are created over the HTTP API, codes typed on
 * the boards' keypads, doors opened and closed (some forced), sensors report. The hub is killed N
 * times at seeded random intervals of 0.5-5 s and restarted on the same ports and store; Mosquitto
 * is killed and restarted M times (its retained messages vanish). Then everything settles (every
 * outbox drained), each bridge is stopped with SIGTERM and timed, and the hub's store is compared
 * with the soak's own record and the bridges' journals (test/soak/check.ts). Prints a report and
 * one JSON line; exits 1 if a bar fails, 2 on bad arguments. Everything it starts is stopped by
 * PID, on failure and Ctrl-C too. README.md "The crash soak" has the numbers of a long run.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { findProfile, type LockerProfile } from '../../devices/index.ts';
import { freePort, type RestartableBroker, startMosquitto } from '../helpers/brokers.ts';
import { casierAsync } from '../helpers/process.ts';
import { Cabinet, type World } from './cabinet.ts';
import { type BridgeEnd, compare, type Findings } from './check.ts';
import { api, SoakHub } from './hub.ts';
import { Rng, sleep } from './rng.ts';

/** The workload runs at least this long, however few the kills. */
const MIN_WORKLOAD_MS = 45_000;

const USAGE =
  'usage: npm run soak -- --broker embedded|mosquitto --kills N [--broker-restarts M] [--bridge-restarts R] [--cabinets K] [--seed S] [--keep]';

interface Options {
  broker: 'embedded' | 'mosquitto';
  kills: number;
  brokerRestarts: number;
  bridgeRestarts: number;
  cabinets: number;
  seed: number;
  keep: boolean;
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      broker: { type: 'string', default: 'embedded' },
      kills: { type: 'string', default: '3' },
      'broker-restarts': { type: 'string', default: '0' },
      'bridge-restarts': { type: 'string' },
      cabinets: { type: 'string', default: '4' },
      seed: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const int = (name: string, v: string, min: number, max: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`--${name} must be an integer ${min}-${max}`);
    return n;
  };
  const broker = values.broker;
  if (broker !== 'embedded' && broker !== 'mosquitto')
    throw new Error('--broker must be embedded or mosquitto');
  const brokerRestarts = int('broker-restarts', values['broker-restarts'], 0, 1000);
  if (broker === 'embedded' && brokerRestarts > 0)
    throw new Error('--broker-restarts needs --broker mosquitto (the embedded broker is the hub)');
  const kills = int('kills', values.kills, 0, 1000);
  const bridgeRestarts =
    values['bridge-restarts'] === undefined
      ? Math.floor(kills / 3)
      : int('bridge-restarts', values['bridge-restarts'], 0, kills);
  return {
    broker,
    kills,
    brokerRestarts,
    bridgeRestarts,
    cabinets: int('cabinets', values.cabinets, 1, 16),
    seed:
      values.seed === undefined ? randomBytes(4).readUInt32BE() : int('seed', values.seed, 0, 2 ** 32 - 1),
    keep: values.keep,
  };
}

/** Everything started, stopped in reverse order by PID, each step whatever the others did. */
const cleanups: Array<() => Promise<unknown>> = [];
async function cleanup(): Promise<void> {
  for (const step of cleanups.splice(0).reverse()) await step().catch(() => {});
}

const log = (msg: string) => console.log(`${new Date().toISOString().slice(11, 23)}  ${msg}`);

async function cli(args: string[]): Promise<Record<string, string>> {
  const r = await casierAsync([...args, '--json']);
  if (r.code !== 0) throw new Error(`casier ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

async function main(): Promise<number> {
  let o: Options;
  try {
    o = options(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const started = Date.now();
  // Bounded in time whatever hangs: a few minutes, plus half a minute per kill or restart.
  const watchdog = setTimeout(
    () => {
      console.error('the soak ran past its time limit');
      void cleanup().then(() => process.exit(1));
    },
    (5 * 60 + 30 * (o.kills + o.brokerRestarts)) * 1000,
  );
  watchdog.unref();
  const rng = new Rng(o.seed);
  const runDir = mkdtempSync(join(tmpdir(), 'casier-soak-'));
  const hubDir = join(runDir, 'hub');
  mkdirSync(hubDir);
  let failed = true;
  cleanups.push(async () => {
    if (!o.keep && !failed) rmSync(runDir, { recursive: true, force: true });
    else console.log(`kept: ${runDir}`);
  });
  log(
    `soak: broker ${o.broker}, ${o.kills} hub kills (${o.bridgeRestarts} with a bridge restart), ${o.brokerRestarts} broker restarts, ${o.cabinets} cabinets, seed ${o.seed}; in ${runDir}`,
  );

  // The store, its cabinets and tokens, provisioned with the command line as an installer would.
  const profile = findProfile('rural-box-8') as LockerProfile;
  const site = 'soak-farm';
  const cabinets: Cabinet[] = [];
  for (let i = 1; i <= o.cabinets; i++) {
    const dev = await cli([
      'device',
      'add',
      `${site}/box-${i}`,
      '--profile',
      profile.name,
      '--data-dir',
      hubDir,
    ]);
    cabinets.push(new Cabinet(site, `box-${i}`, profile, dev.password as string, runDir, rng.fork()));
  }
  const integration = (await cli(['token', 'create', '--role', 'integration', '--data-dir', hubDir]))
    .token as string;
  const operator = (await cli(['token', 'create', '--role', 'operator', '--data-dir', hubDir]))
    .token as string;

  // The broker: the hub's own, or Mosquitto with casier's ACL and every cabinet's credentials.
  const httpPort = await freePort();
  const brokerDown: number[] = [];
  let broker: RestartableBroker | undefined;
  let mqttUrl: string;
  const hubArgs = ['--http-port', String(httpPort), '--data-dir', hubDir];
  if (o.broker === 'mosquitto') {
    const hubPassword = randomBytes(12).toString('hex');
    broker = await startMosquitto([{ username: 'casier-hub', password: hubPassword }]);
    const b = broker;
    cleanups.push(() => b.stop());
    for (const cab of cabinets) await broker.addUser(cab.key, cab.password);
    mqttUrl = broker.url;
    hubArgs.push('--mqtt-url', mqttUrl, '--mqtt-username', 'casier-hub', '--mqtt-password', hubPassword);
  } else {
    const mqttPort = await freePort();
    mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;
    hubArgs.push('--mqtt-port', String(mqttPort));
  }
  const hub = new SoakHub(hubArgs, runDir, httpPort);
  cleanups.push(() => hub.kill());
  await hub.start();
  for (const cab of cabinets) {
    cleanups.push(() => cab.close());
    await cab.start(mqttUrl);
  }
  await until(
    async () => {
      for (const cab of cabinets) {
        const r = await api(httpPort, operator, 'GET', `/api/v1/lockers/${cab.locker}`);
        if (!r?.body?.online) return false;
      }
      return true;
    },
    30_000,
    'every cabinet online',
  );
  log(`hub on http://127.0.0.1:${httpPort}, broker ${mqttUrl}; ${cabinets.length} cabinets online`);

  // The workload, for the whole run.
  let stopping = false;
  const world: World = { httpPort, integration, operator, stopping: () => stopping };
  const people = cabinets.map((cab) => cab.people(world));
  const peopleDone = Promise.all(people);
  let peopleError: unknown;
  peopleDone.catch((err: unknown) => {
    peopleError = err;
    stopping = true;
  });

  // The chaos: N hub kills and M broker restarts in a seeded order, at seeded intervals; R of the
  // kills also stop a bridge with SIGTERM while the hub is down (what it had in flight then
  // hangs on nothing: it must stop within a second) and start it again, a new boot.
  const chaosRng = rng.fork();
  const actions: Array<'hub' | 'hub+bridge' | 'broker'> = [
    ...Array<'hub+bridge'>(o.bridgeRestarts).fill('hub+bridge'),
    ...Array<'hub'>(o.kills - o.bridgeRestarts).fill('hub'),
    ...Array<'broker'>(o.brokerRestarts).fill('broker'),
  ];
  for (let i = actions.length - 1; i > 0; i--) {
    const j = Math.floor(chaosRng.next() * (i + 1));
    [actions[i], actions[j]] = [
      actions[j] as (typeof actions)[number],
      actions[i] as (typeof actions)[number],
    ];
  }
  let kills = 0;
  let brokerRestarts = 0;
  let bridgeRestarts = 0;
  const workStart = Date.now();
  await sleep(5000); // a calm start: the first parcels are created and codes reach the cabinets
  for (const action of actions) {
    if (peopleError) break;
    await sleep(chaosRng.between(500, 5000));
    if (action === 'broker') {
      const t0 = Date.now();
      brokerDown.push(t0);
      await broker?.restart('SIGKILL');
      brokerRestarts++;
      log(`Mosquitto killed (${brokerRestarts}/${o.brokerRestarts}), back after ${Date.now() - t0} ms`);
      continue;
    }
    const cab = action === 'hub+bridge' ? chaosRng.pick(cabinets) : undefined;
    if (!cab) {
      await hub.restartAfterKill();
      kills++;
      log(`hub killed (${kills}/${o.kills}), back after ${hub.downtimes.at(-1)} ms`);
      continue;
    }
    await cab.pause();
    const t0 = Date.now();
    await hub.kill();
    const stop = await cab.stopBridge();
    await hub.start();
    hub.downtimes.push(Date.now() - t0);
    await cab.startBridge(mqttUrl);
    cab.resume();
    kills++;
    bridgeRestarts++;
    log(
      `hub killed (${kills}/${o.kills}), back after ${hub.downtimes.at(-1)} ms; meanwhile the bridge of ${cab.locker} stopped in ${stop.ms} ms (exit ${stop.code ?? stop.signal}), started again`,
    );
  }
  // A calm end (what waited goes through), and enough of a workload in a short run.
  await sleep(Math.max(8000, MIN_WORKLOAD_MS - (Date.now() - workStart)));
  stopping = true;
  await peopleDone.catch(() => {});
  if (peopleError) throw peopleError;
  // One door left open at the end: the hub must say so as well.
  const leftOpen = cabinets[cabinets.length > 1 ? 1 : 0]?.leaveOpen();
  log(
    `workload stopped${leftOpen ? `; door ${leftOpen} of ${cabinets[cabinets.length > 1 ? 1 : 0]?.locker} left open` : ''}; settling`,
  );

  // Settle: every outbox drained, nothing held at the hub, twice in a row a second apart.
  const settleStart = Date.now();
  let calm = 0;
  await until(
    async () => {
      const busy =
        cabinets.some((cab) => outboxSize(cab) > 0) ||
        (readHub(hubDir, (db) =>
          db.prepare('SELECT count(*) FROM device_events WHERE held = 1').pluck().get(),
        ) as number) > 0;
      calm = busy ? 0 : calm + 1;
      return calm >= 2;
    },
    90_000,
    'every outbox drained and nothing held at the hub',
    1000,
  );
  log(`settled in ${Date.now() - settleStart} ms; stopping the bridges with SIGTERM`);

  const ends: BridgeEnd[] = [];
  for (const cab of cabinets) {
    await cab.stopBridge();
    ends.push({ cab, outboxLeft: outboxSize(cab) });
  }
  await hub.stop();
  const findings = compare(
    join(hubDir, 'casier.db'),
    ends,
    (from, to) => hub.upThroughout(from, to) && !brokerDown.some((t) => t >= from - 1000 && t <= to),
  );
  writeFileSync(
    join(runDir, 'record.json'),
    JSON.stringify(
      {
        options: o,
        hubRuns: hub.runs,
        brokerDown,
        cabinets: cabinets.map((c) => ({
          locker: c.locker,
          boots: c.boots.map(({ process: _, ...boot }) => boot),
          stats: c.stats,
          parcels: c.parcels,
          orphans: c.orphans,
          uncertain: c.uncertain,
          typings: c.typings,
          unlocks: c.unlocks,
          doorHistory: Object.fromEntries(c.doorHistory),
          doorOpen: Object.fromEntries(c.doorOpen),
          goods: Object.fromEntries(c.goods),
        })),
        findings,
      },
      null,
      1,
    ),
  );
  const audit = await casierAsync(['audit', 'verify', '--data-dir', hubDir, '--json']);
  const result = report(o, {
    seconds: Math.round((Date.now() - started) / 1000),
    kills,
    brokerRestarts,
    bridgeRestarts,
    downtimes: hub.downtimes,
    cabinets,
    ends,
    findings,
    audit: { ok: audit.code === 0, output: audit.stdout.trim() || audit.stderr.trim() },
  });
  failed = !result;
  return result ? 0 : 1;
}

function outboxSize(cab: Cabinet): number {
  try {
    const db = new Database(join(cab.bridgeDir, 'bridge.db'), { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT count(*) FROM outbox').pluck().get() as number;
    } finally {
      db.close();
    }
  } catch {
    return Number.POSITIVE_INFINITY; // not there yet, or busy: not drained
  }
}

function readHub<T>(hubDir: string, read: (db: Database.Database) => T): T {
  const db = new Database(join(hubDir, 'casier.db'), { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

async function until(check: () => boolean | Promise<boolean>, ms: number, what: string, every = 250) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

interface RunFacts {
  seconds: number;
  kills: number;
  brokerRestarts: number;
  bridgeRestarts: number;
  downtimes: number[];
  cabinets: Cabinet[];
  ends: BridgeEnd[];
  findings: Findings;
  audit: { ok: boolean; output: string };
}

/** Prints the report and the JSON line; true if every bar holds. */
function report(o: Options, r: RunFacts): boolean {
  const f = r.findings;
  const sum = (key: keyof Cabinet['stats']) => r.cabinets.reduce((n, c) => n + c.stats[key], 0);
  const allStops = r.cabinets.flatMap((c) => c.boots.map((b) => b.stop));
  const stops = allStops.map((s) => s?.ms ?? Number.POSITIVE_INFINITY);
  const maxStop = Math.max(...stops);
  const sorted = [...r.downtimes].sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  const late = f.tableMisses.filter((m) => m.late);
  const bars: Array<[string, boolean]> = [
    [
      `hub kills done ${r.kills}/${o.kills}, broker restarts ${r.brokerRestarts}/${o.brokerRestarts}, bridges stopped and started again meanwhile ${r.bridgeRestarts}/${o.bridgeRestarts}`,
      r.kills === o.kills && r.brokerRestarts === o.brokerRestarts && r.bridgeRestarts === o.bridgeRestarts,
    ],
    [`lost ${f.events.lost} (recorded by a bridge, never stored)`, f.events.lost === 0],
    [`doubled ${f.events.doubled} (one device event applied twice)`, f.events.doubled === 0],
    [
      `acknowledged ${f.events.acknowledged} of ${f.events.sent} sent, stored ${f.events.stored}`,
      f.events.acknowledged === f.events.sent && f.events.stored === f.events.sent,
    ],
    [
      `held at the end ${f.events.held}, stored but never applied ${f.events.unapplied}`,
      f.events.held === 0 && f.events.unapplied === 0,
    ],
    [
      `door histories differing from the physical ones ${f.physical.doorHistoriesMismatched.length}`,
      f.physical.doorHistoriesMismatched.length === 0,
    ],
    [
      `codes typed ${f.physical.typed}, keypad events at the hub ${f.physical.keypadEventsAtHub}`,
      f.physical.typed === f.physical.keypadEventsAtHub,
    ],
    [
      `unlocks at the boards ${f.physical.boardUnlocks}, at the hub ${f.physical.unlocksAtHub}`,
      f.physical.boardUnlocks === f.physical.unlocksAtHub,
    ],
    [`states contradicting the physical history ${f.contradictions.length}`, f.contradictions.length === 0],
    [`device.sequence_gap records ${f.gapRecords}`, f.gapRecords === 0],
    [`codes used twice ${f.codesUsedTwice.length}`, f.codesUsedTwice.length === 0],
    [
      `valid codes refused offline for want of them in the cabinet's table ${f.tableMisses.length}, beyond the bound ${late.length}`,
      late.length === 0,
    ],
    [
      `bridges stopped within 1 s ${stops.filter((ms) => ms < 1000).length}/${stops.length} (max ${maxStop} ms)`,
      stops.every((ms) => ms < 1000) && allStops.every((s) => s?.code === 0),
    ],
    [`ledger ${r.audit.ok ? 'verified' : 'BROKEN'} (casier audit verify)`, r.audit.ok],
    [
      `workload: deposits ${sum('deposits')}, pickups ${sum('pickups')}`,
      sum('deposits') > 0 && sum('pickups') > 0,
    ],
  ];
  const ok = bars.every(([, pass]) => pass);
  console.log('');
  console.log(`casier soak: broker ${o.broker}, ${o.cabinets} cabinets, seed ${o.seed}, ${r.seconds} s`);
  console.log(
    `  workload   parcels created ${sum('created')} (no compartment free ${sum('noCompartment')}, unanswered ${sum('createUnanswered')}, found and cancelled ${r.cabinets.reduce((n, c) => n + c.orphans.length, 0)}), deposits ${sum('deposits')}, pickups ${sum('pickups')}, walked away after waiting ${sum('walkedAway')}, doors forced ${sum('forced')}, used codes tried again ${sum('probes')}, sensor changes ${sum('samples')}`,
  );
  console.log(
    `  chaos      hub kills ${r.kills} (back after p50 ${pct(0.5)} ms, max ${sorted.at(-1) ?? 0} ms), Mosquitto restarts ${r.brokerRestarts}, bridges stopped and started again while the hub was down ${r.bridgeRestarts}`,
  );
  console.log(
    `  events     sent ${f.events.sent}, acknowledged ${f.events.acknowledged}, stored ${f.events.stored}, lost ${f.events.lost}, doubled ${f.events.doubled}, held ${f.events.held}, unapplied ${f.events.unapplied}, keypad entries dropped when held across a restart ${f.events.keypadDroppedHeld}, stray boots ${f.events.strayBoots}`,
  );
  console.log(
    `  physical   door changes ${f.physical.doorChanges}, codes typed ${f.physical.typed}, unlocks at the boards ${f.physical.boardUnlocks} (with nobody waiting for that door ${f.physical.unattendedUnlocks})`,
  );
  for (const [kind, outcomes] of Object.entries(f.physical.outcomes))
    console.log(
      `  ${kind.padEnd(10)} ${Object.entries(outcomes)
        .sort((a, b) => b[1] - a[1])
        .map(([what, n]) => `${what} ${n}`)
        .join(', ')}`,
    );
  console.log(
    `  hub        ledger events ${f.info.ledgerEvents}, parcels ${JSON.stringify(f.info.parcelsByState)}, readings ${f.info.readings}, door-forced alarms ${f.info.forcedAlarms}, commands still open ${f.info.commandsOpen}`,
  );
  console.log(
    `  bridges    ${stops.length} stops with SIGTERM (${r.bridgeRestarts} while the hub was down, ${r.cabinets.length} at the end), max ${maxStop} ms: ${stops.map((ms) => `${ms}`).join(', ')} ms`,
  );
  for (const c of f.contradictions) console.log(`  CONTRADICTION ${c.locker}: ${c.what}`);
  for (const m of f.physical.doorHistoriesMismatched)
    console.log(
      `  DOOR HISTORY ${m.locker} door ${m.door}: ${m.physical} changes made, ${m.hub} at the hub, first difference at ${m.firstDiff}`,
    );
  for (const c of f.codesUsedTwice)
    console.log(`  CODE USED TWICE ${c.locker}: parcel ${c.parcel} (${c.outcome})`);
  if (!r.audit.ok) console.log(`  AUDIT ${r.audit.output}`);
  console.log('');
  for (const [what, pass] of bars) console.log(`  ${pass ? 'ok  ' : 'FAIL'}  ${what}`);
  console.log('');
  console.log(
    JSON.stringify({
      soak: ok ? 'pass' : 'fail',
      broker: o.broker,
      seed: o.seed,
      cabinets: o.cabinets,
      seconds: r.seconds,
      hubKills: r.kills,
      brokerRestarts: r.brokerRestarts,
      bridgeRestarts: r.bridgeRestarts,
      hubDowntimeMs: { p50: pct(0.5), max: sorted.at(-1) ?? 0 },
      workload: Object.fromEntries(
        (Object.keys(r.cabinets[0]?.stats ?? {}) as Array<keyof Cabinet['stats']>).map((k) => [k, sum(k)]),
      ),
      events: f.events,
      physical: { ...f.physical, doorHistoriesMismatched: f.physical.doorHistoriesMismatched.length },
      contradictions: f.contradictions.length,
      gapRecords: f.gapRecords,
      codesUsedTwice: f.codesUsedTwice.length,
      tableMisses: { total: f.tableMisses.length, late: late.length },
      bridgeStopMs: stops,
      ledgerVerified: r.audit.ok,
      hub: f.info,
      failed: bars.filter(([, pass]) => !pass).map(([what]) => what),
    }),
  );
  return ok;
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${signal}: stopping everything the soak started`);
    void cleanup().then(() => process.exit(130));
  });

main()
  .then(async (code) => {
    await cleanup();
    process.exit(code);
  })
  .catch(async (err: unknown) => {
    console.error(`soak failed: ${(err as Error).stack ?? err}`);
    await cleanup();
    process.exit(1);
  });
