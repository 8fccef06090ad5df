/**
 * What the benchmarks share: the systems under test in their own processes (the hub, a bare
 * aedes relay, Mosquitto, a bare ws server, a bare fastify route), so the load generator in the
 * benchmark's process does not share their event loop; CPU and memory read from /proc; many
 * MQTT clients with TCP_NODELAY.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { topic } from '../devices/index.ts';
import { openStore } from '../hub/store.ts';
import { freePort } from '../test/helpers/brokers.ts';

export const quick = process.argv.includes('--quick');
const BIN = join(import.meta.dirname, '../bin/casier.js');

export interface Proc {
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Spawns `cmd` and resolves when its output contains `ready` (a string or a test). */
function started(child: ChildProcess, ready: (out: string) => boolean, what: string): Promise<Proc> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${out.slice(-2000)}`)), 20_000);
    const onData = (d: Buffer) => {
      if (out.length < 100_000) out += d;
      if (ready(out)) {
        clearTimeout(timer);
        // From now on only the latest output is kept, to say why if the system dies under load.
        let tail = '';
        const keep = (d: Buffer) => {
          tail = (tail + d).slice(-2000);
        };
        child.stdout?.off('data', onData).on('data', keep);
        child.stderr?.off('data', onData).on('data', keep);
        let stopping = false;
        child.once('exit', (code, signal) => {
          if (!stopping) console.error(`!! ${what} died (${code ?? signal}) under load:\n${tail}`);
        });
        resolve({
          child,
          async stop() {
            stopping = true;
            if (child.exitCode !== null) return;
            const exited = new Promise((r) => child.once('exit', r));
            child.kill('SIGTERM');
            const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
            await exited;
            clearTimeout(kill);
          },
        });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}: ${out.slice(-2000)}`));
    });
  });
}

export interface HubUnderTest extends Proc {
  mqttUrl: string;
  httpUrl: string;
  operator: string;
  passwords: Map<string, string>;
  dataDir: string;
}

/**
 * A real `casier hub` process with `lockers` cabinets of `profile` provisioned in `site`
 * (`box-1` … `box-N`), ports chosen free on loopback.
 */
export async function spawnHub(opts: {
  lockers: number;
  profile: string;
  site?: string;
}): Promise<HubUnderTest> {
  const dataDir = mkdtempSync(join(tmpdir(), 'casier-bench-'));
  const site = opts.site ?? 'bench';
  const store = openStore(dataDir);
  const passwords = new Map<string, string>();
  for (let i = 1; i <= opts.lockers; i++)
    passwords.set(
      `box-${i}`,
      store.provisioning.addDevice({ site, locker: `box-${i}` }, opts.profile, 'bench').password,
    );
  const operator = store.provisioning.createToken('operator', 'bench', 'bench').token;
  store.db.close();
  const [mqttPort, httpPort] = [await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    // BENCH_HUB_NODE_ARGS=--cpu-prof profiles the hub under load.
    [
      ...(process.env.BENCH_HUB_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      BIN,
      'hub',
      '--data-dir',
      dataDir,
      '--mqtt-port',
      `${mqttPort}`,
      '--http-port',
      `${httpPort}`,
      '--log-level',
      'info',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // BENCH_HUB_OUT=file keeps the hub's whole output (with --trace-gc in BENCH_HUB_NODE_ARGS: its pauses).
  if (process.env.BENCH_HUB_OUT) {
    const out = createWriteStream(process.env.BENCH_HUB_OUT, { flags: 'a' });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
  }
  const p = await started(child, (out) => out.includes('"hub started"'), 'the hub');
  return {
    ...p,
    mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    operator,
    passwords,
    dataDir,
    async stop() {
      await p.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A bare aedes broker with TCP_NODELAY in its own process (bench/servers/aedes.ts). */
export async function spawnAedes(): Promise<Proc & { url: string }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'servers/aedes.ts'), `${port}`],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const p = await started(child, (out) => out.includes('listening'), 'aedes');
  return { ...p, url: `mqtt://127.0.0.1:${port}` };
}

/**
 * The durable relay (bench/servers/durable-relay.ts): aedes that acknowledges each device event
 * once an fdatasync of its log covers it, and answers a keypad entry with an unlock; its log in a
 * temporary directory on the same disk as the hub's store.
 */
export async function spawnDurableRelay(): Promise<Proc & { url: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'casier-bench-durable-'));
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(import.meta.dirname, 'servers/durable-relay.ts'),
      `${port}`,
      join(dir, 'events.log'),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const p = await started(child, (out) => out.includes('listening'), 'durable relay').catch((err) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  return {
    ...p,
    url: `mqtt://127.0.0.1:${port}`,
    async stop() {
      await p.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function hasMosquitto(): boolean {
  return !spawnSync('mosquitto', ['-h'], { stdio: 'ignore' }).error;
}

/** Mosquitto from Debian, anonymous on loopback, no persistence: the most used broker, bare. */
export async function spawnMosquitto(): Promise<Proc & { url: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'casier-bench-mosquitto-'));
  writeFileSync(
    join(dir, 'mosquitto.conf'),
    // TCP_NODELAY as on every socket of ours: without it a round trip waits on Nagle (~40 ms).
    `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\nmax_queued_messages 100000\nlog_type error\n`,
  );
  const child = spawn('mosquitto', ['-v', '-c', join(dir, 'mosquitto.conf')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const p = await started(
    child,
    (out) => out.includes('running') || out.includes('Opening ipv4 listen'),
    'mosquitto',
  );
  return {
    ...p,
    url: `mqtt://127.0.0.1:${port}`,
    async stop() {
      await p.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Spawns one of bench/servers/*.ts with a port and resolves when it says it listens. */
export async function spawnServer(name: string, ...args: string[]): Promise<Proc & { port: number }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, `servers/${name}.ts`), `${port}`, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const p = await started(child, (out) => out.includes('listening'), name);
  return { ...p, port };
}

export async function connect(url: string, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  let c: MqttClient | undefined;
  // A broker that has just said it started may still be binding its port.
  for (let attempt = 0; !c; attempt++) {
    try {
      c = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 30_000, ...opts });
    } catch (err) {
      if (attempt >= 50 || (err as { code?: string }).code !== 'ECONNREFUSED') throw err;
      await sleep(100);
    }
  }
  (c.stream as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true);
  return c;
}

/** What a cabinet says first: online, its boot and profile (retained, as the bridge does). */
export function announce(c: MqttClient, ref: { site: string; locker: string }, bootId = 'bench') {
  return c.publishAsync(
    topic(ref, 'state'),
    JSON.stringify({ online: true, bootId, fw: 'bench', profile: 'town-locker-16', ts: Date.now() }),
    { qos: 1, retain: true },
  );
}

/**
 * CPU seconds (user + system), resident memory and bytes sent to the disk (all its threads: the
 * checkpoints' worker too; counted as pages are dirtied, the file system's own journal aside) of
 * a process, from /proc.
 */
export function usage(pid: number): { cpuS: number; rssMiB: number; writtenB: number; at: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  const written = /^write_bytes: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
  return {
    cpuS: ticks / 100,
    rssMiB: Number(rss?.[1] ?? 0) / 1024,
    writtenB: Number(written?.[1] ?? 0),
    at: performance.now(),
  };
}

/** Reads one value of a Prometheus text exposition. */
export async function metric(httpUrl: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/** The cumulative bucket counts of a Prometheus histogram, by upper bound (seconds). */
export async function histogram(httpUrl: string, name: string): Promise<Map<number, number>> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const buckets = new Map<number, number>();
  for (const m of text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`, 'gm')))
    buckets.set(m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]), Number(m[2]));
  return buckets;
}

/**
 * The `q` quantile of what a histogram observed between two readings of it, as the upper bound of
 * the bucket it falls in (in ms); undefined if nothing was observed.
 */
export function quantileBetween(
  before: Map<number, number>,
  after: Map<number, number>,
  q: number,
): number | undefined {
  const total = (after.get(Number.POSITIVE_INFINITY) ?? 0) - (before.get(Number.POSITIVE_INFINITY) ?? 0);
  if (total <= 0) return undefined;
  for (const [le, n] of [...after].sort((a, b) => a[0] - b[0]))
    if (n - (before.get(le) ?? 0) >= q * total) return le * 1000;
  return undefined;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One line of the results table: a measure, its baseline, the ratio and the goal. */
export interface GoalRow {
  benchmark: string;
  measured: string;
  baseline: string;
  ratio: number;
  goal: string;
  met: boolean;
}

export function printRows(rows: GoalRow[]): void {
  for (const r of rows)
    console.log(
      `${r.benchmark.padEnd(34)} ${r.measured.padStart(18)} vs ${r.baseline.padStart(18)}  ${`${r.ratio.toFixed(2)}×`.padStart(7)}  ${r.goal ? `goal ${r.goal.padEnd(8)} ${r.met ? 'met' : 'FALLS SHORT'}` : '(no goal: for reference)'}`,
    );
}
