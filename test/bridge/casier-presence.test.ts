/**
 * The casier board's item sensors. It reported goods only when they changed, and the driver read
 * no bits from its STATUS: goods left in a door while the bridge was down, or an empty door, were
 * unknown to the hub until someone moved them, and no pickup or deposit there could be judged.
 * The driver now reports every sensed door from the board's first status, then each change once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { findProfile, type LockerProfile, linePair } from '../../devices/index.ts';
import { CasierDriver } from '../../firmware-bridge/drivers/casier.ts';
import { CasierBoardSim } from '../../simulators/boards/casier-board.ts';
import { eventually } from '../helpers/hub.ts';

const box = findProfile('rural-box-8') as LockerProfile;
/** The same box with item sensors behind doors 1 to 4. */
const profile: LockerProfile = {
  ...box,
  name: 'rural-box-8-ir',
  compartments: box.compartments.map((c) => (c.door <= 4 ? { ...c, presence: true } : c)),
};

let board: CasierBoardSim | undefined;
let driver: CasierDriver | undefined;
afterEach(async () => {
  await driver?.stop();
  await board?.stop();
});

describe('a casier board with item sensors', () => {
  it('says what each sensed door holds from its first status, then each change once', async () => {
    const [boardEnd, bridgeEnd] = linePair();
    board = new CasierBoardSim({ path: boardEnd, profile, sensorEveryMs: 0 });
    // Goods left in door 3 while nothing listened.
    board.setGoods(3, true, { silently: true });
    await board.start();
    driver = new CasierDriver(bridgeEnd, profile);
    const heard: Array<[number, boolean]> = [];
    driver.on('presence', (door: number, present: boolean) => heard.push([door, present]));
    await driver.start();
    await eventually(() => heard.length === 4, 5000, 'the four sensed doors reported');
    expect(heard.sort((a, b) => a[0] - b[0])).toEqual([
      [1, false],
      [2, false],
      [3, true],
      [4, false],
    ]);

    heard.length = 0;
    board.setGoods(3, false);
    board.setGoods(1, true);
    await eventually(() => heard.length === 2, 5000, 'both changes');
    expect(heard).toEqual([
      [3, false],
      [1, true],
    ]);
  });
});
