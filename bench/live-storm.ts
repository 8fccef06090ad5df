/**
 * Dashboards signing in at once to a region's hub (after a hub restart or an office's link came
 * back, every dashboard reconnects): each gets a snapshot of every cabinet. Measured: the hub's
 * API latency while they sign in, from a probe in its own process. Baseline: the same probe with
 * nobody signing in, same run. For reference, no goal: it shows what a reconnect storm costs the
 * rest of the hub (keypads wait the same way).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { LIVE_PATH } from '../devices/index.ts';
import { type GoalRow, printRows, quick, sleep, spawnHub } from './lib.ts';
import { type summary, writeResult } from './stats.ts';

const LOCKERS = quick ? 500 : 2000;
const DASHBOARDS = quick ? 20 : 100;

const hub = await spawnHub({ lockers: LOCKERS, profile: 'town-locker-16' });
try {
  const live = `${hub.httpUrl.replace(/^http/, 'ws')}${LIVE_PATH}`;
  /** Signs in and resolves with the size of the snapshot, once it has arrived whole. */
  const dashboard = () =>
    new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(live);
      ws.on('error', reject);
      ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', token: hub.operator })));
      ws.once('message', (data: Buffer) => {
        ws.close();
        resolve(data.length);
      });
    });

  /** Probes the API while `work` runs; returns the latencies. */
  const probed = async (work: () => Promise<void>) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, 'probe.ts'),
        `${hub.httpUrl}/api/v1/lockers/box-1`,
        hub.operator,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    let out = '';
    const ready = new Promise<void>((resolve) =>
      child.stdout.on('data', (d) => {
        out += d;
        if (out.startsWith('ready\n')) resolve();
      }),
    );
    const exited = new Promise((resolve) => child.on('exit', resolve));
    await ready;
    await work();
    child.stdin.end();
    await exited;
    return JSON.parse(out.slice('ready\n'.length)) as ReturnType<typeof summary>;
  };

  await sleep(2000); // the hub's start-up work (code tables for every cabinet) done
  const bytes = await dashboard();
  let stormMs = 0;
  const storm = await probed(async () => {
    await sleep(200);
    const t0 = performance.now();
    await Promise.all(Array.from({ length: DASHBOARDS }, dashboard));
    stormMs = performance.now() - t0;
    await sleep(200);
  });
  const idle = await probed(async () => {
    await sleep(stormMs + 400);
  });

  const rows: GoalRow[] = [
    {
      benchmark: `live: API p99, ${DASHBOARDS} signing in`,
      measured: `${storm.p99.toFixed(1)} ms`,
      baseline: `none ${idle.p99.toFixed(1)} ms`,
      ratio: storm.p99 / idle.p99,
      goal: '',
      met: true,
    },
  ];
  console.log(
    `${LOCKERS} cabinets, a snapshot of ${(bytes / 2 ** 20).toFixed(1)} MiB; ${DASHBOARDS} dashboards signing in at once all had theirs in ${stormMs.toFixed(0)} ms`,
  );
  console.log(
    `API latency (ms) meanwhile: p50 ${storm.p50.toFixed(2)}, p99 ${storm.p99.toFixed(1)}, max ${storm.max.toFixed(0)} (${storm.n} requests); with none signing in: p50 ${idle.p50.toFixed(2)}, p99 ${idle.p99.toFixed(1)}, max ${idle.max.toFixed(0)}`,
  );
  printRows(rows);
  console.log(
    `written to ${writeResult('live-storm', { quick, lockers: LOCKERS, dashboards: DASHBOARDS, snapshotBytes: bytes, stormMs, storm, idle, rows })}`,
  );
} finally {
  await hub.stop();
}
process.exit(0);
