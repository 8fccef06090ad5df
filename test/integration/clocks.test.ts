/**
 * A cabinet whose clock is wrong (a Pi without a time source): the hub estimates its offset from
 * the messages it stamps as it sends them, puts its times on the hub's clock, and says so with a
 * `clock_skew` alarm (hub/domain/clocks.ts). Neither monitoring nor a valid code is lost to it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { orderParcel, useCode } from '../helpers/parcels.ts';

const MIN = 60_000;
let t: TestHub;
let clock: number;

beforeEach(async () => {
  clock = Date.UTC(2026, 11, 7, 6, 0);
  t = await startTestHub({ now: () => clock, manualTicks: true });
});
afterEach(() => t.close());

const alarms = async (kind: string) =>
  (await t.api('GET', `/api/v1/alarms?kind=${kind}`)).body.alarms as Array<{
    level: string;
    details: { offsetMs: number; ahead: boolean };
  }>;
const stored = () => t.hub.db.prepare('SELECT count(*) FROM readings').pluck().get() as number;

describe('a cabinet whose clock is wrong', () => {
  it('10 minutes ahead: its readings still count, on the hub’s time, and a breach still holds the goods', async () => {
    const box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8', {
      now: () => clock + 10 * MIN,
    });
    const p = await orderParcel(t);
    await useCode(box, p.depositCode, 1);
    await t.ticked(
      async () => (await t.api('GET', `/api/v1/parcels/${p.parcel.id}`)).body.state === 'stored',
      5000,
      'stored',
    );
    let sent = 0;
    for (let m = 0; m < 12; m++) {
      clock += MIN;
      await box.telemetry([{ sensor: 't1', c: 12 }]);
      sent++;
      await t.ticked(() => stored() === sent, 5000, 'the reading stored, not dropped as from the future');
    }
    const last = t.hub.db.prepare(`SELECT max(ts) FROM readings WHERE sensor = 't1'`).pluck().get() as number;
    expect(Math.abs(last - clock)).toBeLessThan(5000); // on the hub's clock
    expect((await t.api('GET', `/api/v1/parcels/${p.parcel.id}`)).body.state).toBe('quarantined');
    const skew = await alarms('clock_skew');
    expect(skew).toHaveLength(1);
    expect(skew[0]?.details.ahead).toBe(true);
    expect(Math.abs((skew[0]?.details.offsetMs ?? 0) + 10 * MIN)).toBeLessThan(5000);
  });

  it('90 seconds behind: a valid code still opens its door, not refused as typed long ago', async () => {
    const box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8', {
      now: () => clock - 90_000,
    });
    const p = await orderParcel(t);
    await useCode(box, p.depositCode, p.parcel.door);
    await t.ticked(
      async () => (await t.api('GET', `/api/v1/parcels/${p.parcel.id}`)).body.state === 'stored',
      5000,
      'stored',
    );
    expect((await alarms('clock_skew')).map((a) => a.details.ahead)).toEqual([false]);
  });

  it('right, or off by less than the tolerance: no correction, no alarm', async () => {
    const box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8', {
      now: () => clock - 2000,
    });
    clock += MIN;
    await box.telemetry([{ sensor: 't1', c: 3 }]);
    await t.ticked(() => stored() === 1, 5000, 'stored');
    expect(t.hub.db.prepare('SELECT ts FROM readings').pluck().get()).toBe(clock - 2000);
    expect(await alarms('clock_skew')).toEqual([]);
  });
});
