/**
 * A whole cabinet for end-to-end tests: a hub on ephemeral ports, a simulated board on one end of
 * a socat pseudo-terminal pair, the real `casier bridge` process on the other, and optionally a
 * USB keypad on the Pi (a FIFO standing in for /dev/input/eventN).
 */
import { execFileSync } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { closeSync, mkdtempSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { encodeKeyEvent, keysFor } from '../../devices/index.ts';
import type { HubConfig } from '../../hub/service.ts';
import { type BridgeProcess, spawnBridge } from './bridge.ts';
import { openForWriting } from './fifo.ts';
import { eventually, startTestHub, type TestHub, waitFor } from './hub.ts';
import { type PtyPair, ptyPair } from './pty.ts';

interface Board {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface LockerRig<B extends Board> {
  t: TestHub;
  pty: PtyPair;
  board: B;
  bridge: BridgeProcess;
  dir: string;
  password: string;
  /** The bridge's command line, plus `extra`. */
  bridgeArgs(extra?: string[]): string[];
  /** Types on the USB keypad, then Enter (needs `keypad: true`). */
  typeOnKeypad(text: string): void;
  /** What the bridge holds in its own store, read beside it: events (`outbox`) or readings (`telemetry`). */
  held(table: 'outbox' | 'telemetry'): number;
  /** Codes in the offline table the bridge keeps. */
  codeTableEntries(): number;
  online(): Promise<unknown>;
  close(): Promise<void>;
}

export async function lockerRig<B extends Board>(opts: {
  site: string;
  locker: string;
  profile: string;
  driver: 'casier' | 'kr-cu16' | 'firmata';
  board: (path: string) => B;
  extraArgs?: string[];
  keypad?: boolean;
  /** The hub's settings (an external broker), and the broker the bridge connects to when not the hub's. */
  hub?: Partial<HubConfig>;
  mqttUrl?: string;
  /** Gives the bridge's broker the cabinet's credentials before the bridge starts. */
  registerDevice?: (username: string, password: string) => Promise<void>;
}): Promise<LockerRig<B>> {
  const t = await startTestHub(opts.hub);
  const { password } = t.hub.provisioning.addDevice(
    { site: opts.site, locker: opts.locker },
    opts.profile,
    'test',
  );
  await opts.registerDevice?.(`${opts.site}/${opts.locker}`, password);
  const pty = await ptyPair().catch(async (err: unknown) => {
    await t.close();
    throw err;
  });
  const dir = mkdtempSync(join(tmpdir(), 'casier-rig-'));
  const keypadPath = join(dir, 'keypad-event');
  const board = opts.board(pty.board);
  try {
    if (opts.keypad) execFileSync('mkfifo', [keypadPath]);
    await board.start();
  } catch (err) {
    // Nothing of a rig that did not start outlives it.
    await Promise.allSettled([(async () => board.stop())(), pty.close(), t.close()]);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const bridgeArgs = (extra: string[] = []) => [
    ...['--serial', pty.bridge, '--driver', opts.driver, '--profile', opts.profile],
    ...[
      '--mqtt-url',
      opts.mqttUrl ?? t.hub.mqttUrl,
      '--locker',
      `${opts.site}/${opts.locker}`,
      '--password',
      password,
    ],
    ...['--data-dir', join(dir, 'bridge'), ...(opts.keypad ? ['--input', `keypad=evdev:${keypadPath}`] : [])],
    ...(opts.extraArgs ?? []),
    ...extra,
  ];
  const bridge = spawnBridge(bridgeArgs());
  const keypadFd = opts.keypad ? await openForWriting(keypadPath) : undefined;
  let closed = false;
  const rig: LockerRig<B> = {
    t,
    pty,
    board,
    bridge,
    dir,
    password,
    bridgeArgs,
    typeOnKeypad(text) {
      if (keypadFd === undefined) throw new Error('this rig has no keypad on the Pi');
      for (const keys of [...keysFor(text), [96]]) {
        for (const k of keys) writeSync(keypadFd, encodeKeyEvent(k, 1));
        for (const k of [...keys].reverse()) writeSync(keypadFd, encodeKeyEvent(k, 0));
      }
    },
    held(table) {
      return readBridgeStore(
        dir,
        (db) => db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number,
      );
    },
    codeTableEntries() {
      const body = readBridgeStore(
        dir,
        (db) => db.prepare('SELECT body FROM code_table').pluck().get() as string | undefined,
      );
      return body ? (JSON.parse(body).entries as unknown[]).length : 0;
    },
    online: () =>
      eventually(
        async () => (await t.api('GET', `/api/v1/lockers/${opts.locker}`)).body.online,
        20_000,
        'the cabinet online',
      ),
    async close() {
      if (closed) return;
      closed = true;
      // Every step runs even if one before it failed: a socat or a hub left behind outlives the suite.
      const steps = [
        async () => keypadFd !== undefined && closeSync(keypadFd),
        () => rig.bridge.kill(),
        () => board.stop(),
        () => pty.close(),
        () => t.close(),
        async () => rmSync(dir, { recursive: true, force: true }),
      ];
      const failed: unknown[] = [];
      for (const step of steps) await step().catch((err: unknown) => failed.push(err));
      if (failed.length) throw failed[0];
    },
  };
  try {
    await rig.online();
  } catch (err) {
    // Say why, with what the bridge printed, and leave nothing running behind.
    const output = rig.bridge.output().split('\n').slice(-15).join('\n');
    await rig.close();
    throw new Error(`${(err as Error).message}; the bridge said:\n${output}`);
  }
  return rig;
}

function readBridgeStore<T>(dir: string, read: (db: Database.Database) => T): T {
  const db = new Database(join(dir, 'bridge', 'bridge.db'), { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/** A board whose keypad can be typed on and whose doors can be opened: a casier board simulator. */
interface Visited extends EventEmitter {
  typeCode(code: string): void;
  openDoor(door: number): boolean;
  closeDoor(door: number): void;
}

/** Someone types `code` on the board, then opens and closes `door` once it is released. */
export async function visit(board: Visited, code: string, door: number, ms = 10_000): Promise<void> {
  const unlocked = waitFor<[number]>(board, 'unlocked', (d) => d === door, ms);
  board.typeCode(code);
  await unlocked;
  if (!board.openDoor(door)) throw new Error(`door ${door} released but would not open`);
  board.closeDoor(door);
}
