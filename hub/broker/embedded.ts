/**
 * The embedded MQTT broker (aedes) for single-machine installs. The hooks only adapt the pure
 * policy in policy.ts; credentials are checked against the store.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type Client } from 'aedes';
import type { Logger } from 'pino';
import { BROKER_MAX_PAYLOAD_BYTES } from '../../devices/index.ts';
import type { Component } from '../components.ts';
import type { Metrics } from '../metrics.ts';
import { capPackets, PRE_LOGIN_MAX_BYTES } from './packet-cap.ts';
import { canPublish, canSubscribe, clientIdAllowed, type Principal, principalFor } from './policy.ts';
import { addressKey, PreLoginGuard, type PreLoginLimits } from './pre-login.ts';

export interface BrokerDeps {
  host: string;
  port: number;
  authenticateDevice: (ref: { site: string; locker: string }, password: string) => boolean;
  metrics: Metrics;
  log: Logger;
  /** The hub's clock: bans and rates are counted on it. */
  now?: () => number;
  /** Bounds on connections not logged in (pre-login.ts); the defaults otherwise. */
  preLogin?: Partial<PreLoginLimits>;
}

export interface EmbeddedBroker {
  port: number;
  /**
   * The hub's own access, in process: it subscribes and publishes through aedes directly, without
   * a loopback connection that would parse every message twice. The ACL binds the cabinets; the
   * hub is the broker's owner.
   */
  local: {
    subscribe(filter: string, onMessage: (topic: string, payload: Buffer) => void): Promise<void>;
    publish(topic: string, payload: Buffer, opts: { qos: 0 | 1; retain: boolean }): void;
  };
  /**
   * Once a period: logs how many lines about strangers were left out, and forgets the addresses
   * with nothing left to remember. One of the hub's components.
   */
  strangers: Component;
  close(): Promise<void>;
}

const principals = new WeakMap<Client, Principal>();
/** The sockets whose client has logged in: only they may send packets larger than a CONNECT. */
const loggedIn = new WeakSet<object>();
/** The sockets not logged in yet, with the address they count under (pre-login.ts). */
const strangers = new WeakMap<object, string>();

function refused(code: number, message: string) {
  return Object.assign(new Error(message), { returnCode: code });
}

export async function startEmbeddedBroker(deps: BrokerDeps): Promise<EmbeddedBroker> {
  const { metrics, log } = deps;
  const now = deps.now ?? Date.now;
  const guard = new PreLoginGuard(deps.preLogin);
  /** A stranger's socket is no longer pending: it logged in, or it closed first. */
  const settle = (socket: object, ok: boolean) => {
    const key = strangers.get(socket);
    if (key === undefined) return;
    strangers.delete(socket);
    guard.left(key, ok, now());
    metrics.mqttPending.set(guard.pending);
  };
  /** Strangers' lines: one per address per period, the rest counted (guard.mayLog). */
  const warn = (key: string, fields: object, message: string) => {
    const may = guard.mayLog(key, now());
    if (may)
      log.warn(
        { remote: key, ...fields, ...(may.suppressed ? { suppressed: may.suppressed } : {}) },
        message,
      );
  };
  /**
   * Past the bound on strangers, Node refuses a connection before it builds a socket for it
   * (`maxConnections` counts every connection: the ones logged in are added to the bound), which
   * costs a flood far less than building each socket to close it.
   */
  let established = 0;
  const bound = () => {
    server.maxConnections = established + guard.limits.total;
  };
  const aedes = await Aedes.createBroker({
    maxClientsIdLength: 128,
    connectTimeout: 10_000,
    drainTimeout: 30_000,
  });

  aedes.authenticate = (client, username, password, done) => {
    const conn = (client as unknown as { conn: Socket }).conn;
    const key = strangers.get(conn) ?? addressKey(conn.remoteAddress);
    // Banned while this connection was waiting: its credentials are not even checked.
    if (guard.bannedFor(key, now()) > 0) {
      metrics.connectRefused.inc({ reason: 'banned' });
      warn(key, { clientId: client.id, username }, 'mqtt connection refused: address banned');
      return done(refused(5, 'not authorized'), false);
    }
    const p = principalFor(username);
    const secret = password?.toString('utf8') ?? '';
    // The hub itself never connects over the network here (see `local`): only cabinets do.
    const ok = p?.kind === 'device' && deps.authenticateDevice(p, secret);
    if (!p || !ok) {
      metrics.connectRefused.inc({ reason: p ? 'bad_credentials' : 'unknown_user' });
      const bannedMs = guard.loginFailed(key, now());
      warn(key, { clientId: client.id, username, bannedMs }, 'mqtt connection refused: bad credentials');
      return done(refused(4, 'bad username or password'), false);
    }
    if (!clientIdAllowed(p, client.id)) {
      metrics.connectRefused.inc({ reason: 'client_id' });
      const bannedMs = guard.loginFailed(key, now());
      warn(
        key,
        { clientId: client.id, username, bannedMs },
        'mqtt connection refused: client id does not match the username',
      );
      return done(refused(2, 'client id must equal the username'), false);
    }
    principals.set(client, p);
    loggedIn.add(conn);
    settle(conn, true);
    established++;
    conn.once('close', () => {
      established--;
      bound();
    });
    bound();
    done(null, true);
  };

  aedes.authorizePublish = (client, packet, done) => {
    // client is null when aedes publishes a stored will after a restart: that will was checked when it was set.
    if (!client) return done(null);
    const p = principals.get(client);
    if (!p || !canPublish(p, packet.topic)) {
      metrics.publishRefused.inc({ reason: 'acl' });
      log.warn({ clientId: client.id, topic: packet.topic }, 'mqtt publish refused by ACL');
      return done(new Error(`not allowed to publish to ${packet.topic}`));
    }
    if (packet.payload.length > BROKER_MAX_PAYLOAD_BYTES) {
      metrics.publishRefused.inc({ reason: 'too_large' });
      log.warn(
        { clientId: client.id, topic: packet.topic, bytes: packet.payload.length },
        'mqtt publish refused: too large',
      );
      return done(new Error('payload too large'));
    }
    done(null);
  };

  aedes.authorizeSubscribe = (client, sub, done) => {
    const p = principals.get(client);
    if (!p || !canSubscribe(p, sub.topic)) {
      metrics.subscribeRefused.inc();
      log.warn({ clientId: client.id, topic: sub.topic }, 'mqtt subscription refused by ACL');
      return done(null, null); // SUBACK 0x80 for this filter; the connection stays up
    }
    done(null, sub);
  };

  aedes.on('clientError', (client, err) => log.debug({ clientId: client.id, err }, 'mqtt client error'));

  // TCP_NODELAY: without it a keypad → unlock round trip waits on Nagle and delayed ACKs (~40-85 ms).
  const server: Server = createServer({ noDelay: true }, (socket) => {
    // Strangers are bounded before a byte of theirs is read (docs/security.md §8).
    const key = addressKey(socket.remoteAddress);
    const refusal = guard.admit(key, now());
    if (refusal) {
      metrics.connectRefused.inc({ reason: refusal });
      warn(key, { reason: refusal }, 'mqtt connection refused before login');
      socket.destroy();
      return;
    }
    strangers.set(socket, key);
    metrics.mqttPending.set(guard.pending);
    socket.once('close', () => settle(socket, false));
    // A packet larger than the largest payload allowed, with room for its topic and headers, is
    // cut before aedes gathers it (packet-cap.ts); the payload check below answers the rest.
    const max = BROKER_MAX_PAYLOAD_BYTES + 64 * 1024;
    capPackets(
      socket,
      () => (loggedIn.has(socket) ? max : PRE_LOGIN_MAX_BYTES),
      (why) => {
        metrics.connectionsCut.inc({ reason: why });
        warn(key, { reason: why }, 'mqtt connection cut: packet too large or malformed');
      },
    );
    aedes.handle(socket as never);
  });
  // Every socket, even one that has not sent CONNECT yet (aedes does not know it): closing the
  // broker must not wait for a half-open connection to time out.
  const sockets = new Set<Socket>();
  bound();
  server.on('drop', (data) => {
    metrics.connectRefused.inc({ reason: 'pending_full' });
    const key = addressKey(data?.remoteAddress);
    warn(key, { reason: 'pending_full' }, 'mqtt connection refused before login');
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(deps.port, deps.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : deps.port;
  log.info({ host: deps.host, port }, 'embedded MQTT broker listening');
  return {
    port,
    strangers: {
      name: 'mqtt-strangers',
      everyMs: guard.limits.logEveryMs,
      tick: (at) => {
        const suppressed = guard.summary(at);
        if (suppressed > 0)
          log.warn(
            { suppressed, addresses: guard.remembered },
            'mqtt: lines about connections refused, cut or failing to log in left out of the log since the last summary',
          );
      },
    },
    local: {
      subscribe: (filter, onMessage) =>
        new Promise<void>((resolve) =>
          aedes.subscribe(
            filter,
            (packet, done) => {
              onMessage(packet.topic, packet.payload as Buffer);
              done();
            },
            resolve,
          ),
        ),
      publish: (topic, payload, opts) =>
        aedes.publish(
          { cmd: 'publish', topic, payload, qos: opts.qos, retain: opts.retain, dup: false },
          (err) => {
            if (err) log.warn({ err, topic }, 'local publish failed');
          },
        ),
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        aedes.close(() => undefined);
        for (const s of sockets) s.destroy();
      }),
  };
}
