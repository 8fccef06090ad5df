import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KrCu16BusSim } from '../../simulators/boards/kr-cu16-bus.ts';
import { type BridgeProcess, spawnBridge } from '../helpers/bridge.ts';
import { eventually, startTestHub, type TestHub } from '../helpers/hub.ts';
import { casierAsync } from '../helpers/process.ts';
import { type PtyPair, ptyPair } from '../helpers/pty.ts';

let t: TestHub;
let pty: PtyPair;
let bus: KrCu16BusSim;
let bridge: BridgeProcess;
let bridgeDir: string;
let password: string;

beforeEach(async () => {
  t = await startTestHub();
  password = t.hub.provisioning.addDevice(
    { site: 'lyon', locker: 'town-1' },
    'town-locker-24',
    'test',
  ).password;
  pty = await ptyPair();
  bridgeDir = mkdtempSync(join(tmpdir(), 'casier-bridge-'));
  // Board 1 reports its lock bits the other way round; the bridge is told so.
  bus = new KrCu16BusSim({ path: pty.board, boards: ['open-high', 'open-low'] });
  await bus.start();
  bridge = spawnBridge([
    '--serial',
    pty.bridge,
    '--driver',
    'kr-cu16',
    '--kr-polarity',
    '0:open-high,1:open-low',
    '--profile',
    'town-locker-24',
    '--mqtt-url',
    t.hub.mqttUrl,
    '--locker',
    'lyon/town-1',
    '--password',
    password,
    '--data-dir',
    bridgeDir,
  ]);
  await eventually(
    async () => (await t.api('GET', '/api/v1/lockers/town-1')).body.online,
    15_000,
    'the bridge to come online',
  );
});

afterEach(async () => {
  await bridge.kill();
  await bus.stop();
  await pty.close();
  await t.close();
  rmSync(bridgeDir, { recursive: true, force: true });
});

const doorEvents = async (door: number) =>
  (await t.api('GET', `/api/v1/events?lockerId=town-1`)).body.events
    .filter((e: { door: number; type: string }) => e.door === door && e.type.startsWith('door.'))
    .map((e: { type: string }) => e.type);

describe('hub + bridge + a bus of two KR-CU16 boards', () => {
  it("pulses exactly the right lock for an operator's remote open and records the door opening and closing", async () => {
    // door 19 = board 1, lock 3 in town-locker-24
    const res = await t.api('POST', '/api/v1/lockers/town-1/compartments/19/open', {
      reason: 'parcel stuck, customer on the phone',
    });
    expect(res.status).toBe(202);
    await eventually(
      async () => (await t.api('GET', `/api/v1/commands/${res.body.commandId}`)).body.state === 'done',
      10_000,
      'unlock done',
    );
    expect(bus.unlocked).toEqual(['1:3']);
    await eventually(async () => (await doorEvents(19)).includes('door.opened'), 10_000, 'door opened');
    bus.closeDoor(1, 3);
    await eventually(
      async () => (await doorEvents(19)).join() === 'door.opened,door.closed',
      10_000,
      'door closed',
    );
    const locker = (await t.api('GET', '/api/v1/lockers/town-1')).body;
    expect(locker.compartments.filter((c: { doorState: string }) => c.doorState === 'open')).toEqual([]);
    expect(locker.compartments.find((c: { door: number }) => c.door === 19).doorState).toBe('closed');
  });

  it('passes its self-test: both boards answer and every lock is pulsed once', async () => {
    await bridge.kill(); // one user per serial line
    const r = await casierAsync([
      'bridge',
      'selftest',
      '--serial',
      pty.bridge,
      '--driver',
      'kr-cu16',
      '--kr-polarity',
      '0:open-high,1:open-low',
      '--profile',
      'town-locker-24',
      '--mqtt-url',
      t.hub.mqttUrl,
      '--locker',
      'lyon/town-1',
      '--password',
      password,
      '--json',
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ part: string; result: string }>;
    expect(rows.filter((x) => x.part.startsWith('board '))).toHaveLength(2);
    expect(rows.filter((x) => x.part.endsWith(' lock'))).toHaveLength(24);
    expect(new Set(bus.unlocked).size).toBe(24);
    expect(bus.unlocked).toHaveLength(24);
  });

  it('reports item-present sensors changing', async () => {
    bus.setPresent(0, 5, true);
    await eventually(
      async () => {
        const events = (await t.api('GET', '/api/v1/events?type=device.presence.changed')).body.events;
        return events.some(
          (e: { door: number; data: { present: boolean } }) => e.door === 5 && e.data.present,
        );
      },
      10_000,
      'presence event',
    );
  });
});
