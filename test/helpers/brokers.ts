/**
 * External brokers from Debian's packages, started by the test on a free loopback port in a
 * temporary directory: Mosquitto with casier's ACL, and nats-server with its MQTT listener on
 * JetStream. Each is stopped by its PID.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import {
  type HubAccount,
  mosquittoAcl,
  mosquittoSiteLink,
  type SiteLinkAccount,
  type SiteLinkOptions,
} from '../../hub/broker/mosquitto.ts';
import { type NatsAccount, natsAuthorization } from '../../hub/broker/nats.ts';
import { type LineProxy, lineProxy } from './proxy.ts';

export interface ExternalBroker {
  url: string;
  /** The TLS listener, when asked for one. */
  tlsUrl?: string;
  /** Lets a new cabinet (or hub) in: its credentials reach the broker, which reloads them. */
  addUser(username: string, password: string): Promise<void>;
  stop(): Promise<void>;
}

/** A broker that can be killed (`signal`, default SIGKILL) and started again on the same ports. */
export interface RestartableBroker extends ExternalBroker {
  restart(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Resolves once the broker at `url` lets `username` in: a reload after SIGHUP is done when it does.
 * Called as a user is added, before anything connects under it (its client id is the username:
 * the brokers' lanes require it).
 */
async function accepted(url: string, username: string, password: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await connects(url, username, password))) {
    if (Date.now() > deadline) throw new Error(`${url} never let ${username} in`);
    await new Promise((r) => setImmediate(r));
  }
}

/**
 * Whether one connection as `username` gets its CONNACK within 2 s. Its own timer, not mqtt.js's
 * `connectAsync`: under load, an attempt made just after a nats-server refused or timed out the
 * one before never settled (neither connected, nor failed, nor closed), and hung the test.
 */
function connects(url: string, username: string, password: string): Promise<boolean> {
  const c = mqtt.connect(url, {
    username,
    password,
    clientId: username,
    reconnectPeriod: 0,
    connectTimeout: 2000,
  });
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      c.removeAllListeners();
      c.on('error', () => {}); // whatever the closing socket still says
      c.end(true);
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 2500);
    c.once('connect', () => done(true));
    c.once('error', () => done(false));
    c.once('close', () => done(false));
  });
}

/** A port free right now on loopback (the broker binds it a moment later). */
/**
 * A loopback port free now, for a program that takes its port on the command line. Drawn below
 * Linux's ephemeral range (32768-60999): a port the kernel hands out could be given to some
 * client's outgoing connection before the program binds it (seen under the benchmarks' load).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const candidate = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(candidate, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return candidate;
    if (attempt > 100) throw new Error('no free loopback port between 20000 and 32000');
  }
}

async function listening(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the broker exited: ${output()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const c = createConnection({ port, host: '127.0.0.1' }, () => {
        c.destroy();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the broker did not listen on ${port}: ${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Stops `child` by its PID, then removes `dir` (none: left to the caller). */
function stopper(child: ChildProcess, dir?: string) {
  return async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
}

/**
 * Mosquitto with `hubs` and site `links` in its password file and ACL (cabinets come with
 * `addUser`); `forward`: it is a site's own broker, forwarding to a central one.
 */
export async function startMosquitto(
  hubs: Array<HubAccount & { password: string }>,
  tls?: { certFile: string; keyFile: string },
  more: {
    links?: Array<SiteLinkAccount & { password: string }>;
    forward?: SiteLinkOptions & { password: string };
  } = {},
): Promise<RestartableBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'casier-mosquitto-'));
  const port = await freePort();
  const tlsPort = tls ? await freePort() : undefined;
  const passwd = join(dir, 'passwd');
  writeFileSync(passwd, '');
  const addToFile = (username: string, password: string) => {
    const r = spawnSync('mosquitto_passwd', ['-b', passwd, username, password], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mosquitto_passwd failed: ${r.stderr || r.error}`);
  };
  for (const h of [...hubs, ...(more.links ?? [])]) addToFile(h.username, h.password);
  writeFileSync(join(dir, 'acl'), mosquittoAcl(hubs, more.links, more.forward?.site));
  const link = more.forward
    ? mosquittoSiteLink(more.forward).replace("<the site link's password>", more.forward.password)
    : '';
  writeFileSync(
    join(dir, 'mosquitto.conf'),
    [
      // Stay the user that made the files (root in CI would otherwise switch to `mosquitto`).
      `user ${process.getuid?.() === 0 ? 'root' : (process.env.USER ?? 'root')}`,
      'per_listener_settings false',
      `listener ${port} 127.0.0.1`,
      ...(tls ? [`listener ${tlsPort} 127.0.0.1`, `certfile ${tls.certFile}`, `keyfile ${tls.keyFile}`] : []),
      'allow_anonymous false',
      `password_file ${passwd}`,
      `acl_file ${join(dir, 'acl')}`,
      'use_username_as_clientid true',
      'persistence false',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      link,
    ].join('\n'),
  );
  let output = '';
  const launch = async () => {
    const child = spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.on('data', (d) => {
      output += d;
    });
    await listening(port, child, () => output);
    if (tlsPort) await listening(tlsPort, child, () => output);
    return child;
  };
  let child = await launch();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    tlsUrl: tlsPort ? `mqtts://127.0.0.1:${tlsPort}` : undefined,
    async addUser(username, password) {
      addToFile(username, password);
      child.kill('SIGHUP'); // Mosquitto reloads its password and ACL files
      await accepted(`mqtt://127.0.0.1:${port}`, username, password);
    },
    async restart(signal = 'SIGKILL') {
      // Without persistence: its sessions, queued messages and retained messages are gone.
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill(signal);
        await exited;
      }
      child = await launch();
    },
    stop: () => stopper(child, dir)(),
  };
}

export interface SiteBrokers {
  /** The central broker, with `hub` and the site link's accounts. */
  central: ExternalBroker;
  /** The site's line to it, which can be cut. */
  line: LineProxy;
  /** The site's own broker, forwarding over `line`; its cabinets are added with `addUser`. */
  site: ExternalBroker;
  stop(): Promise<void>;
}

/** A central Mosquitto and site `siteId`'s own, forwarding to it over a line that can be cut. */
export async function startSiteBrokers(
  hub: HubAccount & { password: string },
  siteId: string,
): Promise<SiteBrokers> {
  const link = { username: `link-${siteId}`, site: siteId, password: 'link-secret-for-tests' };
  const central = await startMosquitto([hub], undefined, { links: [link] });
  const line = await lineProxy(Number(new URL(central.url).port));
  const site = await startMosquitto([], undefined, {
    forward: { ...link, address: `127.0.0.1:${line.port}`, restart: [1, 1] },
  }).catch(async (err: unknown) => {
    await Promise.allSettled([line.close(), central.stop()]);
    throw err;
  });
  return {
    central,
    line,
    site,
    async stop() {
      await Promise.allSettled([site.stop(), line.close()]);
      await central.stop();
    },
  };
}

/**
 * nats-server with its MQTT listener; `nodes` > 1: a cluster of that many servers on loopback,
 * routed to each other, JetStream clustered (its MQTT sessions and retained messages replicated).
 * `url` is the first node's MQTT listener, `urls` every node's.
 */
export async function startNats(
  hubs: Array<HubAccount & { password: string }>,
  nodes = 1,
): Promise<ExternalBroker & { urls: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'casier-nats-'));
  const ports: Array<{ client: number; mqtt: number; cluster: number }> = [];
  for (let i = 0; i < nodes; i++)
    ports.push({ client: await freePort(), mqtt: await freePort(), cluster: await freePort() });
  const accounts: NatsAccount[] = hubs.map((h) => ({ kind: 'hub', ...h }));
  const conf = (i: number) => join(dir, `nats-${i}.conf`);
  const write = () => {
    ports.forEach((p, i) => {
      const routes = ports.filter((_, j) => j !== i).map((o) => `"nats-route://127.0.0.1:${o.cluster}"`);
      writeFileSync(
        conf(i),
        [
          `listen: "127.0.0.1:${p.client}"`,
          `server_name: "casier-test-${i + 1}"`,
          `jetstream { store_dir: ${JSON.stringify(join(dir, `js-${i}`))} }`,
          `mqtt { listen: "127.0.0.1:${p.mqtt}" }`,
          ...(nodes > 1
            ? [
                `cluster { name: "casier-test", listen: "127.0.0.1:${p.cluster}", routes: [${routes.join(', ')}] }`,
              ]
            : []),
          natsAuthorization(accounts),
          '',
        ].join('\n'),
      );
    });
  };
  write();
  const children = ports.map((_, i) =>
    spawn('nats-server', ['-c', conf(i)], { stdio: ['ignore', 'ignore', 'pipe'] }),
  );
  let output = '';
  for (const child of children)
    child.stderr?.on('data', (d) => {
      output += d;
    });
  // The directory goes once every node has stopped: one stopping first must not pull a store
  // from under the others.
  const stopAll = async () => {
    await Promise.allSettled(children.map((child) => stopper(child)()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const [i, p] of ports.entries()) await listening(p.mqtt, children[i] as ChildProcess, () => output);
  } catch (err) {
    await stopAll();
    throw err;
  }
  const urls = ports.map((p) => `mqtt://127.0.0.1:${p.mqtt}`);
  return {
    url: urls[0] as string,
    urls,
    async addUser(username, password) {
      const [site, locker] = username.split('/') as [string, string];
      accounts.push({ kind: 'locker', site, locker, password });
      write();
      for (const child of children) child.kill('SIGHUP'); // nats-server reloads its configuration, users included
      for (const url of urls) await accepted(url, username, password);
    },
    stop: stopAll,
  };
}

/** A private certificate authority and a certificate it signed for 127.0.0.1, made with openssl. */
export function certificates(): { dir: string; caFile: string; certFile: string; keyFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'casier-tls-'));
  const f = (name: string) => join(dir, name);
  const run = (...args: string[]) => {
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr || r.error}`);
  };
  run(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=casier test CA',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
  );
  run(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    f('broker.key'),
    '-out',
    f('broker.csr'),
  );
  writeFileSync(f('san.ext'), 'subjectAltName = IP:127.0.0.1\n');
  run(
    'x509',
    '-req',
    '-in',
    f('broker.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    f('san.ext'),
    '-out',
    f('broker.pem'),
  );
  return { dir, caFile: f('ca.pem'), certFile: f('broker.pem'), keyFile: f('broker.key') };
}
