/**
 * 6. API: `GET /api/v1/lockers/{id}` (token checked, the locker and its 16 compartments read from
 *    SQLite with their parcels and temperatures) under load from autocannon. Baseline: a bare
 *    fastify route answering the same JSON from memory. Measured: requests per second.
 */
import autocannon from 'autocannon';
import { type GoalRow, printRows, quick, spawnHub, spawnServer } from './lib.ts';
import { writeResult } from './stats.ts';

const SECONDS = quick ? 3 : 10;
const CONNECTIONS = 10;

async function cannon(url: string, headers: Record<string, string> = {}) {
  const r = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS, headers });
  if (r.non2xx || r.errors) throw new Error(`${url}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
  return { rps: r.requests.average, p99: r.latency.p99 };
}

const hub = await spawnHub({ lockers: 1, profile: 'town-locker-16' });
const path = '/api/v1/lockers/box-1';
const auth = { authorization: `Bearer ${hub.operator}` };
const body = await (await fetch(`${hub.httpUrl}${path}`, { headers: auth })).text();
const measured = await cannon(`${hub.httpUrl}${path}`, auth);
await hub.stop();
const bare = await spawnServer('fastify', body);
const baseline = await cannon(`http://127.0.0.1:${bare.port}${path}`);
await bare.stop();

const rps = (n: number) => `${Math.round(n).toLocaleString('en')} req/s`;
const rows: GoalRow[] = [
  {
    benchmark: 'API: GET /api/v1/lockers/{id}',
    measured: rps(measured.rps),
    baseline: `bare fastify ${rps(baseline.rps)}`,
    ratio: measured.rps / baseline.rps,
    goal: '≥ 0.5×',
    met: measured.rps / baseline.rps >= 0.5,
  },
];
console.log(`${CONNECTIONS} connections, ${SECONDS} s each, ${body.length} bytes per answer`);
printRows(rows);
console.log(
  `written to ${writeResult('api', { quick, seconds: SECONDS, connections: CONNECTIONS, measured, baseline, rows })}`,
);
process.exit(0);
