/**
 * The embedded broker under a flood of strangers (docs/security.md §8): connections not logged in
 * are bounded per address and in all, failed logins ban their address for a growing time, and
 * their log lines are rate-limited; cabinets logged in, behind the same address too, go on.
 * Strangers come from other loopback addresses (127.0.0.x) than the cabinets' where it matters.
 */
import { connect as netConnect, type Socket } from 'node:net';
import mqtt from 'mqtt';
import { generate } from 'mqtt-packet';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topic } from '../../devices/index.ts';
import { addressKey, PreLoginGuard } from '../../hub/broker/pre-login.ts';
import { eventually, startTestHub, type TestHub } from '../helpers/hub.ts';

interface Stranger {
  socket: Socket;
  closed: boolean;
  /** The CONNACK's return code, or 'closed' when the hub closed the connection without one. */
  answer: Promise<number | 'closed'>;
}

/** A TCP connection to the broker from `from`, that sends nothing of itself. */
async function open(port: number, from: string): Promise<Stranger> {
  const socket = netConnect({ port, host: '127.0.0.1', localAddress: from });
  socket.on('error', () => {}); // reset by the hub: expected
  const s: Stranger = {
    socket,
    closed: false,
    answer: new Promise((resolve) => {
      // A CONNACK is 4 bytes: 0x20, 2, flags, return code.
      socket.on('data', (d: Buffer) => d[0] === 0x20 && resolve(d[3] as number));
      socket.on('close', () => resolve('closed'));
    }),
  };
  socket.on('close', () => {
    s.closed = true;
  });
  await new Promise((r) => socket.once('connect', r));
  return s;
}

/** Logs in from `from`: the CONNACK's return code, or 'closed' when the hub closed the connection unread. */
async function login(port: number, from: string, username: string, password: string) {
  const s = await open(port, from);
  s.socket.write(
    generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepalive: 0,
      clientId: username,
      username,
      password: Buffer.from(password),
    }),
  );
  const answer = await s.answer;
  s.socket.destroy();
  return answer;
}

/** An MQTT client logged in from `from`, without reconnecting. */
function cabinet(port: number, from: string, username: string, password: string): Promise<mqtt.MqttClient> {
  const c = new mqtt.MqttClient(() => netConnect({ port, host: '127.0.0.1', localAddress: from }), {
    username,
    password,
    clientId: username,
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  return new Promise((resolve, reject) => {
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

async function refused(t: TestHub, reason: string): Promise<number> {
  const m = new RegExp(`casier_mqtt_connect_refused_total\\{reason="${reason}"\\} (\\d+)`).exec(
    (await t.api('GET', '/metrics')).body,
  );
  return Number(m?.[1] ?? 0);
}

describe('PreLoginGuard', () => {
  it('counts IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 by its /64', () => {
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey(undefined)).toBe('unknown');
  });

  it('lets an address open 100 connections that do not log in, then 10 a second; one that logs in gives its token back', () => {
    const g = new PreLoginGuard({ perAddress: 1000, total: 10_000 });
    for (let i = 0; i < 100; i++) {
      expect(g.admit('a', 0)).toBeUndefined();
      g.left('a', false, 0);
    }
    expect(g.admit('a', 0)).toBe('connect_rate');
    expect(g.admit('b', 0)).toBeUndefined(); // another address has its own
    expect(g.admit('a', 1000)).toBeUndefined();
    g.left('a', true, 1000); // logged in: its token back
    for (let i = 0; i < 10; i++) expect(g.admit('a', 1000)).toBeUndefined();
    expect(g.admit('a', 1000)).toBe('connect_rate');
  });

  it('bans after 10 failed logins, 10 s then doubling, and forgets one failure a minute', () => {
    const g = new PreLoginGuard();
    for (let i = 0; i < 10; i++) expect(g.loginFailed('a', 0)).toBe(0);
    expect(g.loginFailed('a', 0)).toBe(10_000);
    expect(g.admit('a', 9_999)).toBe('banned');
    expect(g.admit('b', 9_999)).toBeUndefined();
    expect(g.loginFailed('a', 10_000)).toBe(20_000);
    expect(g.bannedFor('a', 10_000)).toBe(20_000);
    // An hour later everything is forgiven: ten free failures again.
    for (let i = 0; i < 10; i++) expect(g.loginFailed('a', 3_700_000)).toBe(0);
  });

  it('lets one line a minute through per address, 60 a minute in all, and counts the rest', () => {
    const g = new PreLoginGuard();
    expect(g.mayLog('a', 0)).toEqual({ suppressed: 0 });
    expect(g.mayLog('a', 59_999)).toBeUndefined();
    expect(g.mayLog('a', 60_000)).toEqual({ suppressed: 1 });
    let logged = 0;
    for (let i = 0; i < 1000; i++) if (g.mayLog(`10.0.${i >> 8}.${i & 255}`, 60_000)) logged++;
    expect(logged).toBe(59);
    expect(g.summary(60_000)).toBe(1 + 941);
    expect(g.mayLog('10.9.9.9', 120_000)).toEqual({ suppressed: 0 });
  });

  it('remembers at most `addresses` addresses, the least recently seen dropped first', () => {
    const g = new PreLoginGuard({ addresses: 100 });
    for (let i = 0; i < 10; i++) g.loginFailed('kept', 0);
    for (let i = 0; i < 10_000; i++) {
      g.loginFailed(`10.0.${i >> 8}.${i & 255}`, 0);
      if (i % 50 === 0) g.bannedFor('kept', 0); // seen while they come: stays
      if (i % 50 === 0) g.loginFailed('kept', 0);
    }
    expect(g.remembered).toBe(100);
    expect(g.bannedFor('kept', 0)).toBeGreaterThan(0);
    // Addresses with nothing left to remember go at the next summary.
    g.summary(24 * 3_600_000);
    expect(g.remembered).toBe(0);
  });
});

describe('the embedded broker under a flood of strangers', () => {
  let t: TestHub;
  let clock = Date.parse('2026-12-01T08:00:00Z');
  const lines: Array<{ msg: string; mod?: string; suppressed?: number }> = [];
  const passwords = new Map<string, string>();
  let port: number;
  beforeAll(async () => {
    t = await startTestHub({
      now: () => clock,
      manualTicks: true,
      // Small enough for the global bound to be reached in a test.
      mqttPreLogin: { total: 24 },
      log: pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) }),
    });
    port = t.hub.mqttPort as number;
    for (const locker of ['box-1', 'box-2', 'box-3'])
      passwords.set(
        locker,
        t.hub.provisioning.addDevice({ site: 'ferme', locker }, 'rural-box-8', 'test').password,
      );
  });
  afterAll(() => t.close());

  const as = (from: string, locker: string) =>
    cabinet(port, from, `ferme/${locker}`, passwords.get(locker) as string);
  const announce = (c: mqtt.MqttClient, locker: string) =>
    c.publishAsync(
      topic({ site: 'ferme', locker }, 'state'),
      JSON.stringify({ online: true, bootId: 'b', fw: 'test', profile: 'rural-box-8', ts: clock }),
      { qos: 1, retain: true },
    );
  const online = (locker: string) =>
    t.hub.db.prepare('SELECT online FROM lockers WHERE id = ?').pluck().get(locker) === 1;

  it('closes at once the connections of one address past 16 not logged in, and all past the global bound; cabinets logged in, from that address too, go on', async () => {
    const box1 = await as('127.0.0.1', 'box-1');
    const first = await Promise.all(Array.from({ length: 20 }, () => open(port, '127.0.0.1')));
    await eventually(async () => (await refused(t, 'address_pending')) === 4, 3000, '4 refused');
    await eventually(() => first.filter((s) => s.closed).length === 4, 3000, '4 closed');
    // 16 of 24 are taken: another address gets the 8 left.
    const second = await Promise.all(Array.from({ length: 12 }, () => open(port, '127.0.0.2')));
    await eventually(async () => (await refused(t, 'pending_full')) === 4, 3000, '4 refused in all');
    expect(second.filter((s) => s.closed)).toHaveLength(4);
    expect(first.filter((s) => s.closed)).toHaveLength(4);
    // While the bound is reached no newcomer gets in, a cabinet neither...
    expect(await login(port, '127.0.0.3', 'ferme/box-2', passwords.get('box-2') as string)).toBe('closed');
    // ...but the cabinet logged in behind the flooding address is heard.
    await announce(box1, 'box-1');
    await eventually(() => online('box-1'), 3000, 'box-1 online');
    for (const s of [...first, ...second]) s.socket.destroy();
    await eventually(
      async () => (await login(port, '127.0.0.1', 'ferme/box-2', passwords.get('box-2') as string)) === 0,
      3000,
      'box-2 let in once the strangers left',
    );
    await box1.endAsync();
  });

  it('refuses an address unread for 10 s after 10 failed logins, then for longer; a cabinet logged in behind it goes on, others elsewhere get in', async () => {
    const box3 = await as('127.0.0.4', 'box-3');
    for (let i = 0; i < 11; i++) expect(await login(port, '127.0.0.4', 'ferme/box-2', 'guess')).toBe(4);
    expect(await login(port, '127.0.0.4', 'ferme/box-2', 'guess')).toBe('closed');
    expect(await login(port, '127.0.0.4', 'ferme/box-2', passwords.get('box-2') as string)).toBe('closed');
    expect(await login(port, '127.0.0.5', 'ferme/box-2', passwords.get('box-2') as string)).toBe(0);
    await announce(box3, 'box-3');
    await eventually(() => online('box-3'), 3000, 'box-3 online');
    clock += 10_000;
    expect(await login(port, '127.0.0.4', 'ferme/box-2', 'guess')).toBe(4); // the ban lapsed; now 20 s
    clock += 19_000;
    expect(await login(port, '127.0.0.4', 'ferme/box-2', passwords.get('box-2') as string)).toBe('closed');
    clock += 1000;
    expect(await login(port, '127.0.0.4', 'ferme/box-2', passwords.get('box-2') as string)).toBe(0);
    expect(await refused(t, 'banned')).toBe(3);
    await box3.endAsync();
  });

  it('logs one line per address a minute for 500 failed logins, and sums up the rest', async () => {
    clock += 3_600_000; // every earlier failure forgotten
    await t.hub.tick(); // what the tests before left out is summed up
    const from = lines.length;
    const broker = () =>
      lines.slice(from).filter((l) => l.mod === 'broker' && l.msg.startsWith('mqtt connection'));
    // 20 addresses × 10 failures (all free, all checked), then 300 more from one of them.
    for (let a = 0; a < 20; a++)
      await Promise.all(
        Array.from({ length: 10 }, () => login(port, `127.0.1.${a + 1}`, 'ferme/box-2', 'guess')),
      );
    for (let i = 0; i < 300; i++) await login(port, '127.0.1.1', 'ferme/box-2', 'guess');
    expect(broker()).toHaveLength(20);
    await t.hub.tick();
    const summary = lines.slice(from).find((l) => l.msg.startsWith('mqtt: lines about'));
    expect(summary?.suppressed).toBe(480);
  });
});
