/**
 * The limits an installer sets on `casier hub`: the remote-open budget and the bounds on MQTT
 * connections not logged in yet. Before, both had defaults only, changeable from code alone: a
 * town whose support desk opens a hundred doors a day, or forty cabinets behind one NAT, had no
 * way to say so.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCommandArgs } from '../cli/args.ts';
import { COMMANDS } from '../cli/main.ts';
import { DEFAULT_REMOTE_OPEN_BUDGET } from '../hub/domain/remote-open-budget.ts';
import { bounded } from './helpers/hub.ts';
import { spawnHub } from './helpers/process.ts';

const hub = COMMANDS.find((c) => c.name === 'hub') as (typeof COMMANDS)[number];
const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseCommandArgs(hub, argv, env).values;
const dir = mkdtempSync(join(tmpdir(), 'casier-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('casier hub limits', () => {
  it('takes name=number pairs, from the flag or the environment, and keeps the rest at their defaults', () => {
    expect(
      parse(['--remote-open-budget', 'perSitePerDay=120, perTokenPerDay=40'])['remote-open-budget'],
    ).toEqual({ perSitePerDay: 120, perTokenPerDay: 40 });
    expect(parse([], { CASIER_MQTT_PRE_LOGIN: 'perAddress=64' })['mqtt-pre-login']).toEqual({
      perAddress: 64,
    });
    expect(parse([])['remote-open-budget']).toBeUndefined();
    // The help says what the defaults are.
    expect(hub.flags['remote-open-budget']?.help).toContain(
      `perSitePerDay=${DEFAULT_REMOTE_OPEN_BUDGET.perSitePerDay}`,
    );
  });

  it.each([
    [
      ['--remote-open-budget', 'perSitePerWeek=5'],
      /^--remote-open-budget: "perSitePerWeek=5": expected name=number/,
    ],
    [['--remote-open-budget', 'perSitePerDay=0'], /at least 1/],
    [['--remote-open-budget', 'perSitePerDay=lots'], /expected name=number/],
    [
      ['--mqtt-pre-login', 'loginBrake=3'],
      /the names being perAddress, total, connectBurst, connectsPerSecond/,
    ],
    [['--remote-open-budget', 'perSitePerDay=9,perSitePerDay=90'], /perSitePerDay is given twice/],
  ])('refuses %j with a one-line reason', (argv, message) => {
    expect(() => parse(argv)).toThrow(message);
  });

  it('refuses bounds for the embedded broker when the hub runs on another', async () => {
    const args = parseCommandArgs(
      hub,
      ['--mqtt-url', 'mqtt://127.0.0.1:1', '--mqtt-pre-login', 'perAddress=64', '--data-dir', dir],
      {},
    );
    await expect(hub.run(args)).rejects.toThrow(/--mqtt-pre-login bounds the embedded broker/);
  });

  it('gives the running hub the bounds it was told', async () => {
    const h = await spawnHub([
      ...['--http-port', '0', '--mqtt-port', '0', '--data-dir', dir],
      ...['--mqtt-pre-login', 'perAddress=1'],
    ]);
    const sockets: Socket[] = [];
    try {
      const { port } = new URL(h.mqttUrl);
      const open = async () => {
        const s = connect({ host: '127.0.0.1', port: Number(port) });
        sockets.push(s);
        const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
        s.on('error', () => {});
        await new Promise((resolve) => s.once('connect', resolve));
        return { closed };
      };
      // One socket that does not log in is all this address may hold: the second is cut at once,
      // the first still waits for its CONNECT (the hub gives it seconds).
      let firstClosed = false;
      void (await open()).closed.then(() => {
        firstClosed = true;
      });
      await bounded((await open()).closed, 5000, 'the second socket cut');
      expect(firstClosed).toBe(false);
    } finally {
      for (const s of sockets) s.destroy();
      const exited = new Promise((r) => h.child.once('exit', r));
      h.child.kill('SIGTERM');
      await exited;
    }
  });
});
