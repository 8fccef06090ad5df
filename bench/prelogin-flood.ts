/**
 * 7. Strangers flooding the embedded broker before login (issue 21, docs/security.md §8). On an
 *    earlier main, 800 connections each announcing a packet of about a MiB took a hub from 149 MB
 *    to 1 GB of resident memory, never returned, and failed logins ran at 479/s with a log line
 *    each. Here, for FLOOD_S seconds, from loopback addresses other than the cabinets':
 *    - 800 connections from one address, each announcing a 1 MiB PUBLISH and trickling its body;
 *    - 2,000 from 250 addresses, each sending all but the last byte of an 8,000-byte CONNECT (the
 *      most a stranger may send) and holding it, which the hub keeps until its connect timeout;
 *    - 4 workers logging in with a wrong password as fast as the hub answers, from one address;
 *    each connection the hub closes is opened again half a second later.
 *    Measured: the hub's resident memory (from /proc) at its peak during the flood minus idle
 *    (goal: ≤ 50 MiB), the log lines about strangers, and a logged-in cabinet's events → ack
 *    round trip meanwhile against the same probe on the idle hub, same run.
 */
import { connect as netConnect, type Socket } from 'node:net';
import type { MqttClient } from 'mqtt';
import { generate } from 'mqtt-packet';
import { topic } from '../devices/index.ts';
import { announce, connect, type GoalRow, metric, printRows, sleep, spawnHub, usage } from './lib.ts';
import { summary, writeResult } from './stats.ts';

const FLOOD_S = 10;
const SITE = 'bench';
const ref = { site: SITE, locker: 'box-1' };

const hub = await spawnHub({ lockers: 1, profile: 'town-locker-16', site: SITE });
const pid = hub.child.pid as number;
const port = Number(new URL(hub.mqttUrl).port);

/** Lines the hub logged about strangers (refused, cut, failed logins, summaries). */
let strangerLines = 0;
let carry = '';
hub.child.stdout?.on('data', (d: Buffer) => {
  const lines = (carry + d).split('\n');
  carry = lines.pop() ?? '';
  for (const l of lines) if (/"msg":"mqtt(:| connection)/.test(l)) strangerLines++;
});

/** A logged-in cabinet's events → ack round trips, one every 20 ms while `running()`. */
async function probe(c: MqttClient, running: () => boolean): Promise<number[]> {
  const samples: number[] = [];
  for (let seq = 1; running(); seq++) {
    const id = `probe-${Date.now()}-${seq}`;
    const acked = new Promise<void>((resolve) => {
      const on = (_t: string, p: Buffer) => {
        if (!(JSON.parse(p.toString()) as { ids: string[] }).ids.includes(id)) return;
        c.off('message', on);
        resolve();
      };
      c.on('message', on);
    });
    const t0 = performance.now();
    await c.publishAsync(
      topic(ref, 'events'),
      JSON.stringify({
        bootId: 'flood',
        events: [{ id, seq, ts: Date.now(), type: 'presence.changed', door: 1, present: seq % 2 === 1 }],
      }),
      { qos: 1 },
    );
    await acked;
    samples.push(performance.now() - t0);
    await sleep(20);
  }
  return samples;
}

/** What one attacker's connection does once open; it is opened again after the hub closes it. */
type Attack = (s: Socket) => void;
let flooding = true;
const opened = { big: 0, connect: 0, login: 0 };
const sockets = new Set<Socket>();

function attacker(from: string, kind: keyof typeof opened, attack: Attack): void {
  if (!flooding) return;
  opened[kind]++;
  const s = netConnect({ port, host: '127.0.0.1', localAddress: from });
  sockets.add(s);
  s.on('error', () => {});
  s.resume(); // what the hub answers is read and dropped, so its closing the connection is seen
  s.once('connect', () => attack(s));
  s.once('close', () => {
    sockets.delete(s);
    setTimeout(() => attacker(from, kind, attack), kind === 'login' ? 0 : 500);
  });
}

/** A PUBLISH announcing 1 MiB, then its body 1 KiB every 200 ms. */
const big: Attack = (s) => {
  s.write(Buffer.from([0x30, 0xff, 0xff, 0x3f])); // remaining length 2^20 - 1
  const timer = setInterval(() => s.write(Buffer.alloc(1024, 7)), 200);
  s.once('close', () => clearInterval(timer));
};
/** All but the last byte of an 8,000-byte CONNECT, held. */
const heldConnect: Attack = (s) => {
  s.write(Buffer.concat([Buffer.from([0x10, 0xc0, 0x3e]), Buffer.alloc(7999, 7)]));
};
const wrongLogin = generate({
  cmd: 'connect',
  protocolId: 'MQTT',
  protocolVersion: 4,
  clean: true,
  keepalive: 0,
  clientId: `${SITE}/box-1`,
  username: `${SITE}/box-1`,
  password: Buffer.from('guess'),
});
const badLogin: Attack = (s) => {
  s.write(wrongLogin);
};

try {
  const cabinet = await connect(hub.mqttUrl, {
    clientId: `${SITE}/box-1`,
    username: `${SITE}/box-1`,
    password: hub.passwords.get('box-1'),
  });
  await cabinet.subscribeAsync(topic(ref, 'events/ack'), { qos: 1 });
  await announce(cabinet, ref);
  await sleep(1000); // the hub's start-up work done
  let idleUntil = performance.now() + 3000;
  const rss: number[] = [];
  const sampler = setInterval(() => rss.push(usage(pid).rssMiB), 100);
  const idle = summary(await probe(cabinet, () => performance.now() < idleUntil));
  const idleSamples = rss.splice(0);
  const idleRss = idleSamples.reduce((a, b) => a + b, 0) / idleSamples.length;
  const linesBefore = strangerLines;

  for (let i = 0; i < 800; i++) attacker('127.1.0.1', 'big', big);
  for (let i = 0; i < 2000; i++) attacker(`127.2.${1 + (i % 250)}.1`, 'connect', heldConnect);
  for (let i = 0; i < 4; i++) attacker('127.3.0.1', 'login', badLogin);
  idleUntil = performance.now() + FLOOD_S * 1000;
  const flood = summary(await probe(cabinet, () => performance.now() < idleUntil));
  flooding = false;
  for (const s of sockets) s.destroy();
  const peakRss = Math.max(...rss.splice(0));
  await sleep(2000);
  clearInterval(sampler);
  const afterRss = usage(pid).rssMiB;
  const lines = strangerLines - linesBefore;
  await cabinet.endAsync();

  const reasons = ['connect_rate', 'address_pending', 'pending_full', 'banned', 'bad_credentials'];
  const refused = Object.fromEntries(
    await Promise.all(
      reasons.map(
        async (r) =>
          [r, await metric(hub.httpUrl, 'casier_mqtt_connect_refused_total', `reason="${r}"`)] as const,
      ),
    ),
  );
  const cut = await metric(hub.httpUrl, 'casier_mqtt_connections_cut_total', 'reason="too_large"');
  const grew = peakRss - idleRss;
  const rows: GoalRow[] = [
    {
      benchmark: 'pre-login flood: hub RSS peak − idle',
      measured: `${grew.toFixed(1)} MiB`,
      baseline: 'limit 50 MiB',
      ratio: grew / 50,
      goal: '≤ 1.0×',
      met: grew <= 50,
    },
    {
      benchmark: 'pre-login flood: cabinet events→ack p99',
      measured: `${flood.p99.toFixed(1)} ms`,
      baseline: `idle ${idle.p99.toFixed(1)} ms`,
      ratio: flood.p99 / idle.p99,
      goal: '',
      met: true,
    },
  ];
  const attempts = opened.big + opened.connect + opened.login;
  console.log(
    `${FLOOD_S} s: ${attempts.toLocaleString('en')} connections opened (${opened.big} announcing 1 MiB, ${opened.connect} holding a CONNECT, ${opened.login} wrong logins)`,
  );
  console.log(
    `refused: ${JSON.stringify(refused)}; cut at their header: ${cut}; log lines about strangers: ${lines}`,
  );
  console.log(
    `hub RSS: idle ${idleRss.toFixed(0)} MiB, peak ${peakRss.toFixed(0)} MiB, 2 s after ${afterRss.toFixed(0)} MiB`,
  );
  console.log(
    `events → ack (ms): idle p50 ${idle.p50.toFixed(2)} p99 ${idle.p99.toFixed(1)} (${idle.n}); flood p50 ${flood.p50.toFixed(2)} p99 ${flood.p99.toFixed(1)} max ${flood.max.toFixed(0)} (${flood.n})`,
  );
  printRows(rows);
  console.log(
    `written to ${writeResult('prelogin-flood', { floodSeconds: FLOOD_S, opened, refused, cut, logLines: lines, idleRss, peakRss, afterRss, idle, flood, rows })}`,
  );
} finally {
  flooding = false;
  for (const s of sockets) s.destroy();
  await hub.stop();
}
process.exit(0);
