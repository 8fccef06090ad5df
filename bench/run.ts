/**
 * `npm run bench [-- --quick]`: runs every benchmark in turn, each in its own process, then
 * prints one table of every goal (measured against its baseline, same run) and writes it to
 * bench/results/summary.json. --quick (CI) is a smoke run under two minutes: it fails only when
 * a benchmark breaks, never on a noisy ratio.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type GoalRow, printRows } from './lib.ts';
import { machine, writeResult } from './stats.ts';

const BENCHES = ['unlock-latency', 'ingest', 'events', 'fleet', 'api', 'live-storm', 'prelogin-flood'];
const args = process.argv.slice(2);
const only = args.filter((a) => !a.startsWith('--'));
const started = Date.now();
let failed = 0;
const rows: GoalRow[] = [];
for (const b of BENCHES.filter((x) => only.length === 0 || only.includes(x))) {
  console.log(`\n== ${b}`);
  const file = join(import.meta.dirname, 'results', `${b}.json`);
  const before = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, `${b}.ts`), ...args], {
    stdio: 'inherit',
  });
  const after = existsSync(file) ? readFileSync(file, 'utf8') : '';
  if (r.status !== 0 || after === before) {
    console.log(`!! ${b} failed (exit ${r.status})`);
    failed++;
    continue;
  }
  rows.push(...((JSON.parse(after) as { rows?: GoalRow[] }).rows ?? []));
}
const m = machine();
console.log(
  `\n== every goal, ${m.cores} × ${m.cpu}, ${m.memGiB} GiB, Node.js ${m.node.slice(1)}${args.includes('--quick') ? ', quick mode' : ''}`,
);
printRows(rows);
writeResult('summary', { quick: args.includes('--quick'), seconds: (Date.now() - started) / 1000, rows });
process.exit(failed ? 1 : 0);
