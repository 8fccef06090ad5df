/**
 * The KR-CU16 driver against boards that behave as the public code driving real ones says
 * (simulators/boards/kr-cu16-bus.ts): an unlock is not answered, a set lock bit means locked, the
 * latch takes a moment to move. The outcome the driver reports must be the physical one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { findProfile, krcu16, linePair } from '../../devices/index.ts';
import { KrCu16Driver, type KrOptions, UNLOCK_BUDGET_MS } from '../../firmware-bridge/drivers/kr-cu16.ts';
import { DriverError } from '../../firmware-bridge/drivers/types.ts';
import { type KrBusOptions, KrCu16BusSim } from '../../simulators/boards/kr-cu16-bus.ts';

const profile = findProfile('town-locker-16') as NonNullable<ReturnType<typeof findProfile>>;
const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function rig(
  bus: Omit<KrBusOptions, 'path'> = { boards: ['open-low'] },
  opts: KrOptions = {},
  cabinet = profile,
) {
  const [boardEnd, bridgeEnd] = linePair();
  const sim = new KrCu16BusSim({ path: boardEnd, ...bus });
  await sim.start();
  const driver = new KrCu16Driver(bridgeEnd, cabinet, {
    pollMs: 60_000,
    replyTimeoutMs: 80,
    rereadMs: 20,
    gapMs: 5,
    ...opts,
  });
  const doors: Array<[number, boolean]> = [];
  const closed: number[] = [];
  driver.on('door', (door: number, open: boolean) => doors.push([door, open]));
  driver.on('closedAtStart', (door: number) => closed.push(door));
  const faults: Array<[string, string]> = [];
  driver.on('fault', (code: string, detail: string) => faults.push([code, detail]));
  stops.push(async () => {
    await driver.stop();
    await sim.stop();
  });
  /** Each door's last reported state. */
  const state = () => new Map(doors.map(([d, open]) => [d, open]));
  return { sim, driver, doors, closed, faults, state };
}

// door n of town-locker-16 is board 0, lock n
describe('KR-CU16 driver', () => {
  it('reads the majority polarity by default: closed doors are closed at start, none forced open', async () => {
    const { driver, doors, closed } = await rig();
    await driver.start();
    expect(doors).toEqual([]);
    expect(closed.sort((a, b) => a - b)).toEqual(profile.compartments.map((c) => c.door));
  });

  it('confirms an unlock the board never answers by reading the lock status', async () => {
    const { sim, driver, doors } = await rig();
    await driver.start();
    await driver.unlock(3);
    expect(sim.unlocked).toEqual(['0:3']);
    expect(sim.replies.unlock).toBe(0);
    expect(doors).toEqual([[3, true]]);
  });

  it('takes the reply of a board that does answer an unlock for what it is: the latch not yet moved', async () => {
    const { sim, driver, doors } = await rig({ boards: ['open-low'], answersUnlock: true, latchMs: 40 });
    await driver.start();
    await driver.unlock(5);
    expect(sim.unlocked).toEqual(['0:5']);
    expect(sim.replies.unlock).toBe(1);
    expect(doors).toEqual([[5, true]]);
  });

  it('reads the status again after a reply garbled on the line, without a second unlock', async () => {
    const { sim, driver, doors } = await rig();
    await driver.start();
    sim.corruptReplies(3); // the status read before the unlock and two after it
    await driver.unlock(2);
    expect(sim.unlocked).toEqual(['0:2']);
    expect(doors).toEqual([[2, true]]);
  });

  it('sends the unlock again when the first one was lost on the line, and the door opens once', async () => {
    const { sim, driver, doors } = await rig();
    await driver.start();
    sim.loseRequests(1, krcu16.CMD.unlock);
    await driver.unlock(4);
    expect(sim.unlocked).toEqual(['0:4']);
    expect(doors).toEqual([[4, true]]);
  });

  it('reports a jammed lock as failed, after two unlocks that did not move it', async () => {
    const { sim, driver, doors } = await rig();
    await driver.start();
    sim.jam(0, 6);
    const err = await driver.unlock(6).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverError);
    expect((err as DriverError).code).toBe('refused');
    expect((err as Error).message).toMatch(/board 0 lock 6 stayed locked/);
    expect(sim.unlocked).toEqual(['0:6', '0:6']);
    expect(doors).toEqual([]);
  });

  it('reports a board that stopped answering as a timeout, not as a door opened', async () => {
    const { sim, driver } = await rig();
    await driver.start();
    sim.loseRequests(1_000);
    const err = await driver.unlock(1).catch((e: unknown) => e);
    expect((err as DriverError).code).toBe('timeout');
  });

  it('succeeds for a door already open: the pulse changes nothing, and no second one is sent', async () => {
    const { sim, driver } = await rig();
    await driver.start();
    await driver.unlock(7);
    await driver.unlock(7);
    expect(sim.unlocked).toEqual(['0:7', '0:7']);
  });

  it('learns a polarity set the wrong way from the first unlock, and says so', async () => {
    // An installation started before open-low became the default: its board is open-high.
    const { sim, driver, faults, state } = await rig({ boards: ['open-high'] });
    await driver.start();
    expect(faults.map(([code]) => code)).toEqual(['polarity_suspect']);
    await driver.unlock(3);
    expect(sim.unlocked).toEqual(['0:3']);
    expect(faults[1]?.[0]).toBe('polarity_corrected');
    expect(faults[1]?.[1]).toContain('--kr-polarity 0:open-high');
    const doors = state();
    expect(doors.get(3)).toBe(true);
    expect([...doors].filter(([d, open]) => d !== 3 && open)).toEqual([]);
    sim.closeDoor(0, 3);
    await driver.unlock(4);
    expect(sim.unlocked).toEqual(['0:3', '0:4']);
  });

  it('reads through an adapter that echoes, a transceiver that crackles and a board that chatters', async () => {
    const { sim, driver, doors, closed } = await rig({
      boards: ['open-low'],
      echo: true,
      turnaroundNoise: true,
      chatter: 5,
    });
    await driver.start();
    expect(closed).toHaveLength(16);
    await driver.unlock(2);
    expect(sim.unlocked).toEqual(['0:2']);
    expect(doors).toEqual([[2, true]]);
  });

  it('gives up within its budget, a silent second board on the bus included', async () => {
    const twoBoards = findProfile('town-locker-24') as NonNullable<ReturnType<typeof findProfile>>;
    // Board 1 is not powered: every poll of it waits for its timeout.
    const { sim, driver } = await rig(
      { boards: ['open-low'] },
      { pollMs: 0, replyTimeoutMs: 500 },
      twoBoards,
    );
    await driver.start();
    sim.jam(0, 6);
    const t0 = Date.now();
    const err = await driver.unlock(6).catch((e: unknown) => e);
    const took = Date.now() - t0;
    expect((err as DriverError).code).toBe('refused');
    expect(took).toBeLessThan(UNLOCK_BUDGET_MS + 1000);
  });

  it('answers every caller when stopped in the middle of an unlock', async () => {
    const { sim, driver } = await rig();
    await driver.start();
    sim.jam(0, 1);
    const unlocking = driver.unlock(1).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 60));
    await driver.stop();
    expect(await unlocking).toBeInstanceOf(DriverError);
  });

  it('self-test tells the installer which polarity the board uses, whatever was configured', async () => {
    const { sim, driver } = await rig({ boards: ['open-high'] });
    await driver.start();
    const rows = await driver.selftest();
    const polarity = rows.find((r) => r.part === 'board 0 polarity');
    expect(polarity).toMatchObject({ result: 'failed' });
    expect(polarity?.detail).toMatch(/set lock bit = open.*--kr-polarity 0:open-high$/);
    const locks = rows.filter((r) => r.part.endsWith(' lock'));
    expect(locks).toHaveLength(16);
    expect(locks.every((r) => r.result === 'ok')).toBe(true);
    expect(sim.unlocked).toHaveLength(16);
    for (let lock = 1; lock <= 16; lock++) sim.closeDoor(0, lock);

    const right = await rig({ boards: ['open-high'] }, { polarity: { 0: 'open-high' } });
    await right.driver.start();
    const again = await right.driver.selftest();
    expect(again.find((r) => r.part === 'board 0 polarity')).toMatchObject({
      result: 'ok',
      detail: expect.stringMatching(/set lock bit = open \(open-high\)/),
    });
  });

  it('self-test names a lock whose bit never moved', async () => {
    const { sim, driver } = await rig();
    await driver.start();
    sim.jam(0, 9);
    const rows = await driver.selftest();
    expect(rows.find((r) => r.part === 'door 9 lock')).toMatchObject({
      result: 'failed',
      detail: expect.stringMatching(/lock bit did not change/),
    });
    expect(rows.find((r) => r.part === 'board 0 polarity')).toMatchObject({ result: 'ok' });
  });
});
