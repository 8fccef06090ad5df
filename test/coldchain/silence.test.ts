/**
 * Silence is judged on what the hub could have heard: a cabinet away for a few seconds, or a hub
 * restarted after being stopped for minutes, pages nobody; a sensor or a cabinet that stays
 * away is still alarmed, with the time it was last heard.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimLocker } from '../../cli/sim-locker.ts';
import { eventually, startTestHub, type TestHub } from '../helpers/hub.ts';

const S = 1000;
let t: TestHub;
let clock = Date.UTC(2026, 10, 29, 6, 0);
let near: SimLocker;
let far: SimLocker;

beforeAll(async () => {
  // The hub's periodic work runs when the test ticks it, at the test's time.
  t = await startTestHub({ now: () => clock, manualTicks: true });
  near = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
  far = await t.locker({ site: 'ferme', locker: 'box-2' }, 'rural-box-8');
});
afterAll(() => t.close());

const readings = () => t.hub.db.prepare('SELECT count(*) FROM telemetry').pluck().get() as number;
/** Each cabinet still reporting sends `sensors`, 30 s apart on the hub's clock. */
async function report(boxes: SimLocker[], times: number, sensors = ['t1', 't5']) {
  for (let i = 0; i < times; i++) {
    clock += 30 * S;
    const before = readings();
    for (const box of boxes)
      await box.telemetry(sensors.map((sensor) => ({ sensor, c: sensor === 't5' ? -19 : 3.5 })));
    await eventually(
      async () => {
        await t.hub.tick(); // the flusher stores what has arrived
        return readings() === before + boxes.length;
      },
      5000,
      'readings stored',
    );
  }
}
/** Alarms of a kind, open or not, as [locker, sensor, state], once the hub's sweeps have run at the current time. */
async function alarmed(kind: string): Promise<Array<[string, string | null, string]>> {
  await t.hub.tick();
  return t.hub.db
    .prepare(
      'SELECT locker_id, sensor, state FROM alarms WHERE kind = ? ORDER BY locker_id, sensor, raised_at',
    )
    .raw()
    .all(kind) as Array<[string, string | null, string]>;
}
const online = async (id: string) => (await t.api('GET', `/api/v1/lockers/${id}`)).body.online as boolean;

describe('silence', () => {
  it('alarms a cabinet that dropped off once it stayed away a minute, not before', async () => {
    await report([near, far], 3); // both cabinets' sensors have a rhythm: 30 s
    await far.stop();
    await eventually(async () => !(await online('box-2')), 5000, 'box-2 offline');
    await report([near], 1); // box-2 away for 30 s: shown offline, nobody paged
    expect(await alarmed('controller_offline')).toEqual([]);
    await report([near], 2);
    expect(await alarmed('controller_offline')).toEqual([['box-2', null, 'raised']]);
    expect(await alarmed('sensor_silent')).toEqual([
      ['box-2', 't1', 'raised'],
      ['box-2', 't5', 'raised'],
    ]);
  });

  it('does not take a hub stopped for minutes for silent sensors and cabinets, and keeps what was already alarmed', async () => {
    const lastT5 = clock;
    const before = await alarmed('sensor_silent');
    await t.restart(async () => {
      clock += 5 * 60 * S; // the hub is stopped for five minutes; box-1 reports meanwhile, unheard
    });
    await eventually(() => online('box-1'), 10_000, 'box-1 back');
    // Before box-1's next reading its sensors are not silent, and no cabinet is newly alarmed;
    // box-2's alarms are not cleared and raised again.
    expect(await alarmed('sensor_silent')).toEqual(before);
    expect(await alarmed('controller_offline')).toEqual([['box-2', null, 'raised']]);
    // box-1 reports t1 only from now on: past two of its intervals after the start, t5 is
    // silent, since its last reading before the stop.
    await report([near], 3, ['t1']);
    expect(await alarmed('sensor_silent')).toEqual([['box-1', 't5', 'raised'], ...before]);
    const since = t.hub.db
      .prepare(`SELECT since FROM alarms WHERE kind = 'sensor_silent' AND locker_id = 'box-1'`)
      .pluck()
      .get();
    expect(since).toBe(lastT5);
  });
});
