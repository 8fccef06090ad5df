/**
 * The bridge and the casier driver in process, over an in-memory line that flips bits
 * (cli/sim-locker.ts): the link's resynchronisation and retransmission are what is tested, and
 * they are the same code whatever carries the bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findProfile } from '../../devices/index.ts';
import type { CasierBoardSim } from '../../simulators/boards/casier-board.ts';
import { eventually, startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';

const FLIP_RATE = 1 / 100; // each byte, each direction: ten times the 1-in-1,000 the bar asks for
const profile = findProfile('rural-box-8') as NonNullable<ReturnType<typeof findProfile>>;
let t: TestHub;
let board: CasierBoardSim;

beforeAll(async () => {
  t = await startTestHub();
  // The driver's default patience: a garbled frame costs retransmissions, not an unlock.
  const box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8', {
    flipRate: FLIP_RATE,
    replyTimeoutMs: 5000,
  });
  board = box.board;
});
afterAll(() => t.close());

describe('a noisy serial line', () => {
  it('never opens another door and loses no event while bits flip', { timeout: 90_000 }, async () => {
    const lockOf = (door: number) =>
      profile.compartments.find((c) => c.door === door)?.lock.channel as number;
    const intended: number[] = [];
    let doorChanges = 0;
    // Background traffic on the same line: the temperature sensors report every 20 ms.
    const sensors = setInterval(
      () =>
        board.temperatures([
          { channel: 0, c: 3.5 },
          { channel: 4, c: -19 },
        ]),
      20,
    );
    for (let i = 0; i < 6; i++) {
      const temperatureClass = (['chilled', 'frozen', 'ambient'] as const)[i % 3];
      const res = await t.api(
        'POST',
        '/api/v1/parcels',
        { lockerId: 'box-1', size: 'M', temperatureClass, recipient: { name: `n${i}` } },
        t.integration,
      );
      const { parcel, depositCode, pickupCode } = res.body;
      for (const code of [depositCode, pickupCode]) {
        // A code garbled on the line may never reach the hub: the person types it again, as at a real keypad.
        for (let attempt = 0; ; attempt++) {
          const unlocked = waitFor<[number]>(board, 'unlocked', () => true, 4000);
          board.typeCode(code);
          const got = await unlocked.catch(() => undefined);
          if (got) {
            expect(got[0]).toBe(parcel.door);
            break;
          }
          expect(attempt).toBeLessThan(5);
        }
        intended.push(lockOf(parcel.door));
        board.openDoor(parcel.door);
        board.closeDoor(parcel.door);
        doorChanges += 2;
        const want = code === depositCode ? 'stored' : 'picked_up';
        await eventually(
          async () => (await t.api('GET', `/api/v1/parcels/${parcel.id}`)).body.state === want,
          15_000,
          want,
        );
      }
    }
    // Enough traffic for the noise to be measured, however fast the parcels went through.
    await eventually(() => board.stats.bytes > 2000, 15_000, 'traffic on the line');
    clearInterval(sensors);
    expect(board.unlocked).toEqual(intended);
    // The noise was real: over thousands of bytes, at least one flipped bit per 1,000 bytes.
    expect(board.stats.bytes).toBeGreaterThan(2000);
    expect(board.stats.flipped / board.stats.bytes).toBeGreaterThanOrEqual(1 / 1000);
    await eventually(
      () =>
        (t.hub.db
          .prepare(`SELECT count(*) FROM device_events WHERE type IN ('door.opened', 'door.closed')`)
          .pluck()
          .get() as number) === doorChanges,
      15_000,
      'every door event',
    );
  });
});
