/**
 * `node --import tsx bench/probe.ts <url> <token>`: GETs `url` one request at a time, 2 ms apart,
 * says `ready` after the first, and once its standard input ends prints the latencies' summary
 * as JSON. Its own process: what it measures is the server's event loop, not the benchmark's
 * own clients.
 */
import { summary } from './stats.ts';

const [url, token] = process.argv.slice(2) as [string, string];
const samples: number[] = [];
let stop = false;
process.stdin.on('data', () => {});
process.stdin.on('end', () => {
  stop = true;
});
while (!stop) {
  const t0 = performance.now();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  samples.push(performance.now() - t0);
  if (samples.length === 1) console.log('ready');
  await new Promise((r) => setTimeout(r, 2));
}
console.log(JSON.stringify(summary(samples)));
