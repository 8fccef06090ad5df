/**
 * The bridge through an outage of the hub, in process over an in-memory line (cli/sim-locker.ts):
 * what it keeps is the bridge's logic, not its process's. Events kept through an outage:
 * test/integration/reliability.test.ts; through a kill -9 of the process:
 * test/bridge/casier-board.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually, startTestHub, type TestHub } from '../helpers/hub.ts';

let t: TestHub;
beforeEach(async () => {
  t = await startTestHub();
});
afterEach(() => t.close());

const dropped = async () =>
  Number(
    /casier_telemetry_dropped_on_device_total (\d+)/.exec((await t.api('GET', '/metrics')).body)?.[1] ?? 0,
  );

describe('a cabinet whose hub is away', () => {
  it('buffers readings within its bound and says how many it dropped', async () => {
    const box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8', { telemetryBuffer: 3 });
    await t.hub.stop();
    await eventually(() => !box.connected, 5000, 'the bridge to notice');
    // Eleven readings, each sampled by the board and taken by the bridge, into a buffer of three.
    for (let i = 0; i < 11; i++) await box.telemetry([{ sensor: 't1', c: 3 + i / 10 }]);
    expect(box.outbox.telemetryBuffered).toBe(3);
    await t.restart();
    await eventually(async () => (await dropped()) === 8, 10_000, 'the dropped count at the hub');
    await eventually(() => box.outbox.telemetryBuffered === 0, 5000, 'the buffer sent');
    const kept = () =>
      t.hub.db.prepare(`SELECT c FROM readings WHERE sensor = 't1' ORDER BY ts`).pluck().all();
    await eventually(() => kept().length === 3, 5000, 'the three readings kept');
    expect(kept()).toEqual([3.8, 3.9, 4]);
  });
});
