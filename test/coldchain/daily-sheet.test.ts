/**
 * An inspector reads a cabinet's day at its site: midnight to midnight in the site's time zone.
 * The sheet cut its days at midnight UTC, so a French sheet's "5 December" began at 01:00 and took
 * in the last hour of the 4th; in summer, two hours.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SimLocker } from '../../cli/sim-locker.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';

const MIN = 60_000;
let t: TestHub;
let box: SimLocker;
let clock: number;
let sent = 0;

beforeEach(async () => {
  // 23:29 in Paris on 4 December (22:29 UTC); its midnight is 23:00 UTC.
  clock = Date.UTC(2026, 11, 4, 22, 29);
  sent = 0;
  t = await startTestHub({ now: () => clock, manualTicks: true, timeZone: 'Europe/Paris' });
  box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
});
afterEach(() => t.close());

const stored = () => t.hub.db.prepare('SELECT count(*) FROM readings').pluck().get() as number;

async function reads(sensor: string, c: number, n: number) {
  for (let m = 0; m < n; m++) {
    clock += MIN;
    await box.telemetry([{ sensor, c }]);
    sent++;
    await t.ticked(() => stored() === sent, 5000, 'the reading stored');
  }
}

const sheet = async (date: string) =>
  (await t.api('GET', `/api/v1/lockers/box-1/daily-sheet?date=${date}`)).body as {
    timeZone: string;
    from: number;
    to: number;
    sensors: Array<{ sensor: string; min: number | null; max: number | null; readings: number }>;
  };

describe('the daily sheet', () => {
  it('is the day at the site, midnight to midnight in its time zone', async () => {
    await reads('t1', 3, 30); // 23:30 to 23:59 in Paris, the 4th
    clock = Date.UTC(2026, 11, 4, 23, 5);
    await reads('t1', 6, 30); // 00:06 to 00:35 in Paris, the 5th
    await t.ticked(() => (t.hub.db.prepare('SELECT count(*) FROM readings_5m').pluck().get() as number) > 0);

    const fifth = await sheet('2026-12-05');
    expect(fifth).toMatchObject({
      timeZone: 'Europe/Paris',
      from: Date.UTC(2026, 11, 4, 23),
      to: Date.UTC(2026, 11, 5, 23),
    });
    expect(fifth.sensors.find((s) => s.sensor === 't1')).toMatchObject({ min: 6, max: 6, readings: 30 });
    const fourth = await sheet('2026-12-04');
    expect(fourth.sensors.find((s) => s.sensor === 't1')).toMatchObject({ min: 3, max: 3, readings: 30 });

    // The site's own zone wins over the hub's.
    await t.api('PUT', '/api/v1/sites/ferme/settings', { timeZone: 'UTC' });
    const utc = await sheet('2026-12-04');
    expect(utc.from).toBe(Date.UTC(2026, 11, 4));
    expect(utc.sensors.find((s) => s.sensor === 't1')).toMatchObject({ min: 3, max: 6, readings: 60 });
  });
});
