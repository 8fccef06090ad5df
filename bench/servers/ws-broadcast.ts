/**
 * Baseline: a bare ws server. On "go <n> <bytes>" from its parent it broadcasts n messages of that
 * size to every client, each serialised once, as fast as the sockets take them.
 */
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.argv[2]) }, () =>
  console.log('listening'),
);
process.stdin.setEncoding('utf8');
process.stdin.on('data', async (line: string) => {
  const [cmd, n, bytes] = line.trim().split(' ');
  if (cmd !== 'go') return;
  const text = JSON.stringify({ type: 'readings', pad: 'x'.repeat(Number(bytes) - 30) });
  for (let i = 0; i < Number(n); i++) {
    for (const c of wss.clients) c.send(text);
    // Let the sockets drain, as the hub's tick does between messages.
    if (i % 10 === 9) await new Promise((r) => setImmediate(r));
  }
  console.log('sent');
});
process.on('SIGTERM', () => process.exit(0));
