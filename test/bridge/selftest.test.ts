import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findProfile } from '../../devices/index.ts';
import { CasierBoardSim } from '../../simulators/boards/casier-board.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { casierAsync } from '../helpers/process.ts';
import { type PtyPair, ptyPair } from '../helpers/pty.ts';

const profile = findProfile('rural-box-8') as NonNullable<ReturnType<typeof findProfile>>;
let t: TestHub;
let pty: PtyPair;
let board: CasierBoardSim;
let password: string;

beforeEach(async () => {
  t = await startTestHub();
  password = t.hub.provisioning.addDevice({ site: 'ferme', locker: 'box-1' }, 'rural-box-8', 'test').password;
  pty = await ptyPair();
  board = new CasierBoardSim({ path: pty.board, profile, sensorEveryMs: 200 });
  await board.start();
});
afterEach(async () => {
  try {
    await board.stop();
  } finally {
    await pty.close();
    await t.close();
  }
});

describe('casier bridge selftest', () => {
  it('pulses every lock, reads every contact and sensor, checks the hub, from a config file', async () => {
    const config = join(t.dataDir, 'bridge.json');
    writeFileSync(
      config,
      JSON.stringify({
        serial: pty.bridge,
        driver: 'casier',
        profile: 'rural-box-8',
        'mqtt-url': t.hub.mqttUrl,
        locker: 'ferme/box-1',
        password,
      }),
    );
    const r = await casierAsync(['bridge', 'selftest', '--config', config, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ part: string; result: string; detail: string }>;
    expect(rows.filter((x) => x.result !== 'ok')).toEqual([]);
    expect(rows.filter((x) => x.part.endsWith(' lock'))).toHaveLength(8);
    expect(rows.find((x) => x.part === 'sensor t5')?.detail).toBe('-19.00 °C');
    expect(rows.at(-1)).toMatchObject({ part: 'hub', result: 'ok' });
    expect(board.unlocked).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('says which parts did not answer and exits 1', async () => {
    await board.stop(); // nobody on the line
    const r = await casierAsync([
      'bridge',
      'selftest',
      '--serial',
      pty.bridge,
      '--driver',
      'casier',
      '--profile',
      'rural-box-8',
      '--mqtt-url',
      t.hub.mqttUrl,
      '--locker',
      'ferme/box-1',
      '--password',
      'wrong',
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/door 1 lock\s+0\s+no answer/);
    expect(r.stdout).toMatch(/hub\s+mqtt:\/\/\S+\s+failed/);
  });
});
