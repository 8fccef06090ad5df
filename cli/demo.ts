/**
 * `casier demo`: the hub with its embedded broker and a simulated site, a rural box and a town
 * locker, where simulated people deposit and collect. A composition root: it wires the hub and
 * the simulators together in one process, which they never do themselves.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findProfile } from '../devices/index.ts';
import { startHub } from '../hub/service.ts';
import { Incidents } from '../simulators/incidents.ts';
import { journey } from '../simulators/journey.ts';
import { SiteScenario } from '../simulators/scenario.ts';
import { LockerThermals } from '../simulators/thermal.ts';
import { UsageError } from './args.ts';
import { untilSignal } from './output.ts';
import { SimLocker } from './sim-locker.ts';

const LOCKERS = [
  { site: 'ferme-des-saules', locker: 'box-1', profile: 'rural-box-8' },
  { site: 'lyon-croix-rousse', locker: 'locker-1', profile: 'town-locker-16' },
] as const;

/** The file by which a demo store says it is one: the only kind of directory the demo clears. */
export const DEMO_MARK = 'casier-demo-store';

/**
 * Makes `dir` an empty demo store: created if missing, cleared if a demo marked it, refused
 * otherwise (a real store, a home directory, `..`): the demo deletes nothing it did not create.
 */
export function prepareDemoDir(dir: string): string {
  const abs = resolve(dir);
  if (existsSync(abs)) {
    if (!statSync(abs).isDirectory()) throw new UsageError(`--data-dir: ${abs} is not a directory`);
    const entries = readdirSync(abs);
    if (entries.length > 0 && !entries.includes(DEMO_MARK))
      throw new UsageError(
        `--data-dir: ${abs} is not a demo store (it holds ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} the demo did not create); give a new or empty directory`,
      );
    for (const e of entries) rmSync(join(abs, e), { recursive: true, force: true });
  } else {
    mkdirSync(abs, { recursive: true });
  }
  writeFileSync(
    join(abs, DEMO_MARK),
    'a casier demo store: `casier demo` clears this directory at each start\n',
  );
  return abs;
}

async function createDriver(api: string, operator: string): Promise<string> {
  const res = await fetch(`${api}/api/v1/drivers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
    // Yann's round: every site of the demo.
    body: JSON.stringify({ name: 'Yann (driver)', sites: [...new Set(LOCKERS.map((c) => c.site))] }),
  });
  return ((await res.json()) as { code: string }).code;
}

export async function runDemo(v: {
  'http-port': number;
  'mqtt-port': number;
  'data-dir': string;
  interval: number;
  incidents: number;
}): Promise<number> {
  const dataDir = prepareDemoDir(v['data-dir']);
  const hub = await startHub({
    dataDir,
    host: '127.0.0.1',
    httpPort: v['http-port'],
    mqttPort: v['mqtt-port'],
    codeDigits: 8,
    // The farmers and customers of the demo are French.
    language: 'fr',
    timeZone: 'Europe/Paris',
    logLevel: process.env.CASIER_LOG_LEVEL ?? 'warn',
  });
  const operator = hub.provisioning.createToken('operator', 'demo operator', 'demo').token;
  const integration = hub.provisioning.createToken('integration', 'demo platform', 'demo').token;
  const lockers: SimLocker[] = [];
  for (const c of LOCKERS) {
    const dev = hub.provisioning.addDevice({ site: c.site, locker: c.locker }, c.profile, 'demo');
    const profile = findProfile(c.profile);
    if (!profile) throw new Error(`missing profile ${c.profile}`);
    // The real bridge and driver, talking to a simulated board over an in-memory line.
    const locker = new SimLocker({
      site: c.site,
      locker: c.locker,
      url: hub.mqttUrl,
      password: dev.password,
      profile,
      dataDir: resolve(dataDir, 'cabinets', c.locker),
    });
    await locker.start();
    lockers.push(locker);
  }
  const api = `http://127.0.0.1:${hub.httpPort}`;
  const say = (s: string) => process.stdout.write(`${s}\n`);
  say(`casier demo running
  dashboard       ${api}   (sign in with the operator token below)
  HTTP API        ${api}   (OpenAPI: ${api}/api/v1/openapi.json, metrics: ${api}/metrics)
  MQTT broker     ${hub.mqttUrl}
  operator token  ${operator}
  data directory  ${dataDir}
  cabinets        ${LOCKERS.map((c) => `${c.site}/${c.locker} (${c.profile})`).join(', ')}

Try:
  curl -s -H 'authorization: Bearer ${operator}' ${api}/api/v1/lockers/box-1
  curl -s -H 'authorization: Bearer ${operator}' '${api}/api/v1/parcels?limit=5'
  curl -s -H 'authorization: Bearer ${operator}' '${api}/api/v1/lockers/box-1/sensors/t1/readings?resolution=raw'
  curl -s -H 'authorization: Bearer ${operator}' ${api}/api/v1/alarms
  npx casier parcels list --data-dir ${v['data-dir']}

Ctrl-C stops the demo.
`);
  const time = () => new Date().toTimeString().slice(0, 8);
  // The cabinets' sensors report every 15 s from a thermal model of each compartment.
  const thermals = lockers.map((l) => new LockerThermals(l.profile));
  for (const th of thermals) for (let i = 0; i < 120; i++) th.tick(60); // settled
  const sensors = setInterval(() => {
    lockers.forEach((l, i) => {
      l.telemetry(thermals[i]?.tick(15) ?? [], { mains: true }).catch((err: Error) =>
        say(`${time()}  ${l.locker}: ${err.message}`),
      );
    });
  }, 15_000);
  const scenario = new SiteScenario({
    apiUrl: api,
    token: integration,
    lockers,
    intervalMs: v.interval * 1000,
    log: (l) => say(`${time()}  ${l}`),
  });
  scenario.start();
  // Now and then a compressor fails or a door is forced and left open: alarms, quarantine, release.
  const incidents = new Incidents({
    lockers,
    thermals,
    everyMs: v.incidents * 1000,
    log: (l) => say(`${time()}  ${l}`),
  });
  if (v.incidents > 0) incidents.start();
  // Every minute or so, a parcel travels from the box to town with a driver's round.
  const driver = await createDriver(api, operator);
  let travelling = false;
  const rounds = setInterval(
    () => {
      if (travelling) return;
      travelling = true;
      journey({
        apiUrl: api,
        token: integration,
        driverCode: driver,
        from: lockers[0] as SimLocker,
        to: lockers[1] as SimLocker,
        log: (l) => say(`${time()}  ${l}`),
      })
        .catch((err: Error) => say(`${time()}  journey interrupted: ${err.message}`))
        .finally(() => {
          travelling = false;
        });
    },
    Math.max(20_000, v.interval * 15_000),
  );
  await untilSignal();
  incidents.stop();
  await scenario.stop();
  clearInterval(rounds);
  clearInterval(sensors);
  await Promise.allSettled(lockers.map((l) => l.stop()));
  await hub.stop();
  say(
    `demo stopped: ${scenario.stats.created} parcels ordered, ${scenario.stats.deposited} deposited, ${scenario.stats.collected} collected`,
  );
  return 0;
}
