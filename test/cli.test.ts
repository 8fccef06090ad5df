import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { helpText } from '../cli/args.ts';
import { COMMANDS } from '../cli/main.ts';
import { BIN, casier, casierAsync, spawnHub } from './helpers/process.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'casier-cli-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const d = ['--data-dir', dataDir];

describe('casier command line', () => {
  it('prints help for every command', async () => {
    expect(casier(['--help'])).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('Usage: casier <command>'),
    });
    // Four processes at a time: one after another, thirty-odd starts of Node took most of a minute.
    const pending = [...COMMANDS];
    const check = async () => {
      for (let c = pending.shift(); c; c = pending.shift()) {
        const r = await casierAsync([...c.name.split(' '), '--help']);
        expect(r.code, c.name).toBe(0);
        // The usage may wrap onto several lines.
        expect(r.stdout.replace(/\s+/g, ' ')).toContain(`casier ${c.usage}`);
      }
    };
    await Promise.all([check(), check(), check(), check()]);
  });

  it('lays help out in columns that fit 80 characters and never run into each other', () => {
    for (const c of COMMANDS) {
      const lines = helpText(c).split('\n');
      for (const line of lines) expect(line.length, `${c.name}: ${line}`).toBeLessThanOrEqual(80);
      // Every description, first line or wrapped, starts in one column, at least two spaces after
      // its flag or argument.
      const entries = lines
        .slice(lines.findIndex((l) => l === 'Arguments:' || l === 'Options:'))
        .filter((l) => l.startsWith(' '));
      const starts = entries.map(
        (l) => (/^ {2}[-<]\S*(?: \S+)* {2,}(?=\S)/.exec(l) ?? /^ +/.exec(l))?.[0].length,
      );
      expect(new Set(starts), `${c.name}:\n${entries.join('\n')}`).toHaveProperty('size', 1);
    }
  });

  it('lists every command with its headline whole, and the commands of a group', () => {
    const list = casier(['--help']).stdout;
    for (const c of COMMANDS) expect(list).toMatch(new RegExp(`^  ${c.name} {2,}\\S`, 'm'));
    // Cut at the first full stop, the broker lines used to end in "(docs/operations".
    expect(list).not.toMatch(/\(docs\/operations$/m);
    const broker = casier(['broker', '--help']);
    expect(broker.code).toBe(0);
    expect(broker.stdout.match(/^ {2}broker \S+/gm)).toEqual([
      '  broker mosquitto-acl',
      '  broker mosquitto-site-link',
      '  broker nats-users',
    ]);
  });

  it('names every board driver in the bridge usage', () => {
    const usage = casier(['bridge', '--help']).stdout.replace(/\s+/g, ' ');
    expect(usage).toContain('--driver <casier|kr-cu16|firmata>');
  });

  it.each([
    [['hub', '--bogus'], /^casier: Unknown option '--bogus'/],
    [['hub', '--http-port', 'eighty'], /^casier: --http-port: /],
    [['token', 'create', '--role', 'admin', ...d], /^casier: --role: /],
    [['device', 'add', 'no-slash', '--profile', 'rural-box-8', ...d], /^casier: expected <site>\/<locker>/],
    [
      ['device', 'add', 'ferme/box-1', '--profile', 'nope', ...d],
      /^casier: --profile: unknown profile "nope"/,
    ],
    [['parcels', 'list', '--state', 'lost', ...d], /^casier: --state: /],
    [['frobnicate'], /^casier: unknown command/],
  ])('%j is a one-line error with exit code 2', (args, message) => {
    const r = casier(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('takes a bad value from the environment as a one-line error too', () => {
    const r = casier(['hub'], { CASIER_MQTT_PORT: '99999' });
    expect(r).toMatchObject({ code: 2, stderr: expect.stringMatching(/^casier: CASIER_MQTT_PORT: /) });
  });

  it('provisions a cabinet, creates tokens and lists, as JSON', () => {
    const dev = JSON.parse(
      casier(['device', 'add', 'ferme/box-1', '--profile', 'rural-box-8', '--json', ...d]).stdout,
    );
    expect(dev).toMatchObject({ username: 'ferme/box-1', profile: 'rural-box-8', compartments: 8 });
    expect(dev.password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const again = casier(['device', 'add', 'ferme/box-1', '--profile', 'rural-box-8', ...d]);
    expect(again).toMatchObject({ code: 1, stderr: expect.stringContaining('already exists') });
    const token = JSON.parse(
      casier(['token', 'create', '--role', 'integration', '--name', 'platform', '--json', ...d]).stdout,
    );
    expect(token).toMatchObject({
      role: 'integration',
      name: 'platform',
      token: expect.stringMatching(/^casier_/),
    });
    expect(JSON.parse(casier(['profiles', '--json']).stdout).map((p: { name: string }) => p.name)).toEqual([
      'rural-box-8',
      'town-locker-16',
      'town-locker-24',
      'farm-box-4',
    ]);
    expect(JSON.parse(casier(['parcels', 'list', '--json', ...d]).stdout)).toEqual([]);
    expect(JSON.parse(casier(['audit', 'verify', '--json', ...d]).stdout)).toMatchObject({
      ok: true,
      events: 2,
    });
  });

  it('backs up a store into a new directory that opens and verifies on its own', () => {
    const to = join(dataDir, 'backup-1');
    expect(casier(['backup', '--to', to, ...d]).code).toBe(0);
    expect(casier(['backup', '--to', to, ...d])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('already exists'),
    });
    const verify = JSON.parse(casier(['audit', 'verify', '--json', '--data-dir', to]).stdout);
    expect(verify).toMatchObject({ ok: true });
    expect(verify.events).toBeGreaterThanOrEqual(2);
  });

  // `casier profiles | head -1`. The reader closes before the first write: these outputs fit in a
  // pipe's buffer, so a reader closing after the first chunk would often find everything written
  // already and the write that fails would never happen.
  it.each([[['profiles']], [['profiles', '--json']], [['parcels', 'list', ...d]], [['--help']]])(
    '%j into a reader that has gone exits 0, quietly',
    async (args) => {
      const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
      });
      const [code] = await once(child, 'close');
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    },
  );

  it('runs a hub whose API accepts a token created on the command line', async () => {
    const token = casier(['token', 'create', '--role', 'operator', ...d]).stdout.trim();
    const hub = await spawnHub(['--http-port', '0', '--mqtt-port', '0', ...d]);
    try {
      const res = await fetch(`http://127.0.0.1:${hub.httpPort}/api/v1/lockers`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
      expect((await res.json()).lockers.map((l: { id: string }) => l.id)).toEqual(['box-1']);
      const exited = new Promise((r) => hub.child.once('exit', r));
      hub.child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      hub.child.kill('SIGKILL');
    }
  });
});
