/** `npm run bench [-- --quick]`: runs every benchmark in turn, each in its own process. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const BENCHES = ['unlock-latency.ts'];
const args = process.argv.slice(2);
let failed = 0;
for (const b of BENCHES) {
  console.log(`\n== ${b}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, b), ...args], {
    stdio: 'inherit',
  });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
