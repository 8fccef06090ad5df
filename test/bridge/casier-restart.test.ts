/**
 * A bridge restarted while its board stays powered: the board remembers the SEQ of the last frame
 * it received (docs/protocol.md §4.5) and takes a new frame with the same SEQ for a retransmission.
 * The new bridge starts at SEQ 0: if the previous one's last frame was SEQ 0 too, its first frame
 * (the status request that reports doors found open) was acknowledged and dropped (1 restart in 256).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { findProfile, linePair } from '../../devices/index.ts';
import { CasierLink } from '../../devices/serial/casier-link.ts';
import { CasierDriver } from '../../firmware-bridge/drivers/casier.ts';
import { CasierBoardSim } from '../../simulators/boards/casier-board.ts';
import { waitFor } from '../helpers/hub.ts';

const profile = findProfile('rural-box-8') as NonNullable<ReturnType<typeof findProfile>>;
const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

describe('a bridge restarted beside a board that kept running', () => {
  it('still learns which doors are open, whatever SEQ the previous bridge stopped at', async () => {
    const [boardEnd, bridgeEnd] = linePair();
    const board = new CasierBoardSim({ path: boardEnd, profile, latchMs: 10_000, sensorEveryMs: 0 });
    await board.start();
    stops.push(() => board.stop());
    // The previous bridge: it heard door 3 open, then its last frame was SEQ 0 (a status request).
    const previous = new CasierLink();
    let alive = true;
    const heard: string[] = [];
    bridgeEnd.onData((chunk) => {
      if (!alive) return;
      const out = previous.receive(chunk, Date.now());
      heard.push(...out.messages.map((m) => m.type));
      for (const bytes of out.writes) bridgeEnd.write(bytes);
    });
    board.openDoor(3, { force: true });
    await new Promise((r) => setTimeout(r, 50));
    for (const bytes of previous.send({ type: 'statusRequest' }, Date.now()).writes) bridgeEnd.write(bytes);
    for (let i = 0; i < 100 && !heard.includes('status'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(heard).toContain('status');
    alive = false; // it stops; the board, still powered, remembers SEQ 0
    const driver = new CasierDriver(bridgeEnd, profile);
    const open = waitFor<[number, boolean]>(driver, 'door', (door, isOpen) => door === 3 && isOpen, 3000);
    await driver.start();
    stops.push(() => driver.stop());
    expect(await open).toEqual([3, true]);
  });
});
