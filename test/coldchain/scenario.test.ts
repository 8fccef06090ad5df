import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SimLocker } from '../../cli/sim-locker.ts';
import { topic } from '../../devices/index.ts';
import { CHILLED, ThermalCompartment } from '../../simulators/thermal.ts';
import { startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';

const MIN = 60_000;
let t: TestHub;
let box: SimLocker;
let clock: number;
let fridge: ThermalCompartment;
let sent = 0;

beforeEach(async () => {
  clock = Date.UTC(2026, 10, 29, 6, 0);
  sent = 0;
  // The hub's sweeps and flusher run when the test ticks it, at the test's time.
  t = await startTestHub({ now: () => clock, manualTicks: true });
  box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
  fridge = new ThermalCompartment(CHILLED);
  for (let i = 0; i < 60; i++) fridge.step(60); // settled before the day starts
});
afterEach(() => t.close());

const stored = () => t.hub.db.prepare('SELECT count(*) FROM readings').pluck().get() as number;

/** One virtual minute at a time: the model runs, sensor t1 (door 1) reports, the hub stores it. */
async function minutes(n: number, each: (minute: number) => void = () => {}, report = true) {
  for (let m = 0; m < n; m++) {
    each(m);
    fridge.step(60);
    clock += MIN;
    if (!report) continue;
    await box.telemetry([{ sensor: 't1', c: Math.round(fridge.temperature * 100) / 100 }]);
    sent++;
    await t.ticked(() => stored() === sent, 5000, 'the reading stored');
  }
}

const alarms = async () =>
  (await t.api('GET', '/api/v1/alarms?state=all')).body.alarms as Array<{
    kind: string;
    level: string;
    state: string;
    raisedAt: number;
    since: number;
  }>;

async function depositChilled() {
  const res = await t.api(
    'POST',
    '/api/v1/parcels',
    { lockerId: 'box-1', size: 'M', temperatureClass: 'chilled', recipient: { name: 'Ada' } },
    t.integration,
  );
  const { parcel, depositCode, pickupCode } = res.body;
  expect(parcel.door).toBe(1); // watched by t1
  const unlocked = waitFor(box, 'unlocked');
  box.pressCode(depositCode);
  await unlocked;
  box.openDoor(1);
  box.closeDoor(1);
  await t.ticked(async () => (await t.api('GET', `/api/v1/parcels/${parcel.id}`)).body.state === 'stored');
  return { parcel, pickupCode } as { parcel: { id: string }; pickupCode: string };
}

describe('cold chain on a virtual clock', () => {
  it('raises nothing for a 30-second door opening', async () => {
    await minutes(30);
    fridge.doorOpen = true;
    fridge.step(30);
    fridge.doorOpen = false;
    await minutes(30);
    expect(
      Math.max(...(t.hub.db.prepare('SELECT c FROM readings').pluck().all() as number[])),
    ).toBeGreaterThan(3.5);
    expect(await alarms()).toEqual([]);
  });

  it('warns after the delay when the compressor fails, then quarantines the parcel inside at the critical threshold', async () => {
    const { parcel, pickupCode } = await depositChilled();
    await minutes(5);
    fridge.faults.compressorFailed = true;
    await minutes(75);
    const list = await alarms();
    const warning = list.find((a) => a.level === 'warning');
    const critical = list.find((a) => a.level === 'critical' && a.kind === 'temperature_high');
    expect(warning).toBeDefined();
    expect(critical).toBeDefined();
    // Raised when the delays ran out, on the readings' own clock.
    expect((warning?.raisedAt ?? 0) - (warning?.since ?? 0)).toBeGreaterThan(20 * MIN);
    expect((warning?.raisedAt ?? 0) - (warning?.since ?? 0)).toBeLessThanOrEqual(21 * MIN);
    expect((critical?.raisedAt ?? 0) - (critical?.since ?? 0)).toBeLessThanOrEqual(11 * MIN);
    // The warning said when the goods would be lost; the critical alarm came close to it.
    const by = (warning as unknown as { details: { collectBefore: number; advice: string } }).details;
    expect(by.advice).toMatch(/^collect before \d\d:\d\d UTC$/);
    expect(Math.abs(by.collectBefore - (critical?.raisedAt ?? 0))).toBeLessThan(15 * MIN);
    expect((await t.api('GET', `/api/v1/parcels/${parcel.id}`)).body.state).toBe('quarantined');

    const shown = waitFor<[{ type: string; text?: string }]>(box, 'command', (c) => c.type === 'display');
    box.pressCode(pickupCode);
    expect((await shown)[0].text).toBe('Parcel held: temperature');

    const record = (await t.api('GET', `/api/v1/parcels/${parcel.id}/temperature`)).body;
    expect(record.verdict).toBe('breached');
    expect(record.max).toBeGreaterThan(8);
    expect(record.alarms.map((a: { level: string }) => a.level)).toEqual(
      expect.arrayContaining(['warning', 'critical']),
    );

    const ack = await t.api('POST', `/api/v1/alarms/${(critical as unknown as { id: string }).id}/ack`, {
      comment: 'technician on the way',
    });
    expect(ack.body.acknowledged).toMatchObject({ by: 'test operator', comment: 'technician on the way' });
    const released = await t.api('POST', `/api/v1/parcels/${parcel.id}/release`, {
      reason: 'checked: sealed dairy, core at 6 °C',
    });
    expect(released.body.state).toBe('stored');
  });

  it('quarantines a parcel after an hour above its class in total, spread over short excursions', async () => {
    const { parcel } = await depositChilled();
    const reading = async (c: number) => {
      clock += MIN;
      await box.telemetry([{ sensor: 't1', c }]);
      sent++;
      await t.ticked(() => stored() === sent, 5000, 'the reading stored');
    };
    const row = () =>
      t.hub.db
        .prepare('SELECT state, breach_reason, out_of_range_ms FROM parcels WHERE id = ?')
        .get(parcel.id) as {
        state: string;
        breach_reason: string | null;
        out_of_range_ms: number;
      };
    // Ten minutes at 6 °C, then five back at 3 °C: warm two thirds of the time.
    for (let cycle = 0; cycle < 5; cycle++) {
      for (let m = 0; m < 10; m++) await reading(6);
      for (let m = 0; m < 5; m++) await reading(3);
    }
    expect(row()).toMatchObject({ state: 'stored', out_of_range_ms: 50 * MIN });
    for (let m = 0; m < 10; m++) await reading(6);
    await reading(3);
    expect(row()).toMatchObject({
      state: 'quarantined',
      breach_reason: 'cumulative',
      out_of_range_ms: 60 * MIN,
    });
    // The five good minutes never end the warning's count: warned in the second cycle (20 warm
    // minutes, the dip not counted), and never cleared while it cycles.
    const high = (await alarms()).filter((a) => a.kind === 'temperature_high');
    expect(high.map((a) => [a.level, a.state])).toEqual([['warning', 'raised']]);
    // Held for its budget, not for any temperature alarm: an operator is told so.
    const exposure = (await alarms()).filter((a) => a.kind === 'exposure_limit');
    expect(exposure.map((a) => [a.level, a.state])).toEqual([['critical', 'raised']]);
    // Released (an operator checked the goods), it is no longer held: the alarm ends, and the
    // goods have their budget again: the next warm minutes (a door opening) do not hold them.
    const released = await t.api('POST', `/api/v1/parcels/${parcel.id}/release`, { reason: 'core at 3 °C' });
    expect(released.status).toBe(200);
    await t.ticked(async () =>
      (await alarms()).some((a) => a.kind === 'exposure_limit' && a.state === 'cleared'),
    );
    for (let m = 0; m < 5; m++) await reading(6);
    expect(row()).toMatchObject({ state: 'stored' });
  });

  it('raises a silent-sensor alarm within two reading intervals and shows the last value as stale', async () => {
    await minutes(5);
    await minutes(2, () => {}, false);
    clock += 1000;
    await t.ticked(
      async () => (await alarms()).some((a) => a.kind === 'sensor_silent'),
      5000,
      'a silent-sensor alarm',
    );
    const door1 = (await t.api('GET', '/api/v1/lockers/box-1')).body.compartments[0];
    expect(door1.temperature.stale).toBe(true);
    await minutes(1);
    await t.ticked(
      async () => (await alarms()).every((a) => a.kind !== 'sensor_silent' || a.state === 'cleared'),
      5000,
      'cleared',
    );
  });

  it('does not call a sensor that reports every second silent for the hub’s own batching, only after 30 s', async () => {
    for (let s = 0; s < 5; s++) {
      clock += 1000;
      await box.telemetry([{ sensor: 't1', c: 3 }]);
      sent++;
      await t.ticked(() => stored() === sent, 5000, 'the reading stored');
    }
    clock += 5000; // five of its intervals, but seconds only
    await t.hub.tick();
    expect((await alarms()).filter((a) => a.kind === 'sensor_silent')).toEqual([]);
    clock += 30_000;
    await t.ticked(
      async () => (await alarms()).some((a) => a.kind === 'sensor_silent'),
      5000,
      'a silent-sensor alarm',
    );
  });

  it('keeps a delay running across a hub restart: 15 minutes before it, the warning comes 5 minutes after', async () => {
    fridge.faults.compressorFailed = true;
    fridge.temperature = 5;
    fridge.p.ambient = 5; // hold it at +5 °C
    await minutes(16);
    await t.restart();
    await minutes(4);
    expect(await alarms()).toEqual([]);
    await minutes(2);
    const [warning] = await alarms();
    expect(warning?.level).toBe('warning');
    expect((warning?.raisedAt ?? 0) - (warning?.since ?? 0)).toBeGreaterThan(20 * MIN);
    expect((warning?.raisedAt ?? 0) - (warning?.since ?? 0)).toBeLessThanOrEqual(21 * MIN);
  });
});

describe('a parcel temperature record on a fixed trace', () => {
  it('matches the hand-computed MKT and minutes out of range', async () => {
    const { parcel } = await depositChilled();
    const trace = [3, 3, 5, 6, 9, 4, 2, 3];
    for (const c of trace) {
      clock += MIN;
      await box.telemetry([{ sensor: 't1', c }]);
      sent++;
      await t.ticked(() => stored() === sent);
    }
    const r = (await t.api('GET', `/api/v1/parcels/${parcel.id}/temperature`)).body;
    const mkt =
      10000 / -Math.log(trace.reduce((s, c) => s + Math.exp(-10000 / (c + 273.15)), 0) / trace.length) -
      273.15;
    expect(r).toMatchObject({ readings: 8, min: 2, max: 9, mean: 4.38, mkt: Math.round(mkt * 100) / 100 });
    // 5, 6 and 9 were out of range (> +4 °C), each until the next reading a minute later: 3 minutes.
    expect(r.minutesOutOfRange).toBe(3);
    expect(r.verdict).toBe('excursion');
    const csv = (await t.api('GET', `/api/v1/parcels/${parcel.id}/temperature?format=csv`)).body as string;
    expect(csv.split('\n').filter((l) => /^\d{4}-/.test(l))).toHaveLength(8);
  });
});

describe('alarms judged on the hub clock', () => {
  const open = async (kind: string) =>
    (await alarms()).filter((a) => a.kind === kind && a.state !== 'cleared') as Array<{
      kind: string;
      state: string;
      details?: Record<string, unknown>;
    }>;

  it('raises a forced-door alarm for a door opened without any unlock, cleared when it closes', async () => {
    // Closed since the cabinet started: the hub knows it from the cabinet's state, with no event.
    await t.ticked(
      async () =>
        (await t.api('GET', '/api/v1/lockers/box-1')).body.compartments.every(
          (c: { doorState: string }) => c.doorState === 'closed',
        ),
      5000,
      'every door known closed',
    );
    expect(t.hub.db.prepare(`SELECT count(*) FROM events WHERE type = 'door.closed'`).pluck().get()).toBe(0);
    box.openDoor(2, { force: true });
    await t.ticked(async () => (await open('door_forced')).length === 1, 5000, 'door_forced');
    box.closeDoor(2);
    await t.ticked(async () => (await open('door_forced')).length === 0, 5000, 'cleared');
  });

  it('raises door-left-open after 5 minutes, and controller-offline when the cabinet goes away', async () => {
    const unlocked = waitFor(box, 'unlocked');
    const res = await t.api('POST', '/api/v1/lockers/box-1/compartments/3/open', { reason: 'restock check' });
    expect(res.status).toBe(202);
    await unlocked;
    box.openDoor(3);
    await t.ticked(
      async () => (await t.api('GET', '/api/v1/lockers/box-1')).body.compartments[2].doorState === 'open',
    );
    clock += 4 * MIN;
    await t.hub.tick();
    expect(await open('door_left_open')).toEqual([]);
    clock += 2 * MIN;
    await t.ticked(async () => (await open('door_left_open')).length === 1, 5000, 'door_left_open');
    box.closeDoor(3);
    await t.ticked(async () => (await open('door_left_open')).length === 0, 5000, 'cleared');

    await box.telemetry([{ sensor: 't1', c: 3 }], { mains: false, batteryV: 12.1 });
    await t.ticked(async () => (await open('on_battery')).length === 1, 5000, 'on_battery');
    await box.telemetry([{ sensor: 't1', c: 3 }], { mains: true });
    await t.ticked(async () => (await open('on_battery')).length === 0, 5000, 'back on mains');

    // The 6 virtual minutes without a message made it look silent; the readings brought it back.
    await t.ticked(async () => (await open('controller_offline')).length === 0, 5000, 'heard again');
    await box.stop();
    await t.ticked(async () => !(await t.api('GET', '/api/v1/lockers/box-1')).body.online, 5000, 'offline');
    clock += 2 * MIN; // away for more than a minute (test/coldchain/silence.test.ts)
    await t.ticked(async () => (await open('controller_offline')).length === 1, 5000, 'controller_offline');
    expect((await open('controller_offline'))[0]).toMatchObject({ details: { reason: 'disconnected' } });
  });
});

describe('records for inspectors', () => {
  it('gives a daily min/max sheet per cabinet, and forgets raw readings after their retention', async () => {
    await minutes(30);
    const day = new Date(clock).toISOString().slice(0, 10);
    const sheet = (await t.api('GET', `/api/v1/lockers/box-1/daily-sheet?date=${day}`)).body;
    const t1 = sheet.sensors.find((s: { sensor: string }) => s.sensor === 't1');
    const raw = t.hub.db.prepare('SELECT min(c) AS min, max(c) AS max FROM readings').get() as {
      min: number;
      max: number;
    };
    expect(t1).toMatchObject({ doors: '1:chilled', readings: 30, min: raw.min, max: raw.max });
    const csv = (await t.api('GET', `/api/v1/lockers/box-1/daily-sheet?date=${day}&format=csv`))
      .body as string;
    expect(csv.split('\n')[1]).toMatch(/^t1,"1:chilled",/);

    clock += 91 * 86_400_000;
    await t.ticked(() => stored() === 0, 5000, 'raw readings pruned after 90 days');
    expect(t.hub.db.prepare('SELECT count(*) FROM readings_5m').pluck().get()).toBeGreaterThan(0);
  });
});

describe('readings that are not temperatures', () => {
  const open = async (kind: string) =>
    (await t.api('GET', `/api/v1/alarms?kind=${kind}`)).body.alarms as Array<{
      level: string;
      details: { reason: string };
    }>;

  it('flags a disconnected probe, never trusting its value, and a stuck one after two hours', async () => {
    await minutes(2);
    clock += MIN;
    await box.telemetry([{ sensor: 't1', c: -127 }]); // a DS18B20 that lost its wire
    await t.ticked(
      async () => (await open('sensor_fault')).some((a) => a.details.reason === 'out_of_range'),
      5000,
      'fault',
    );
    // An alarm, never a temperature: not in the readings a record or a daily sheet is made of.
    expect(t.hub.db.prepare('SELECT count(*) FROM readings WHERE c < -45 OR c > 70').pluck().get()).toBe(0);
    await box.telemetry([{ sensor: 't1', c: 85 }]); // one that reset: its power-on value
    await t.ticked(async () =>
      (await t.api('GET', '/metrics')).body.includes('casier_readings_total{result="fault"} 2'),
    );
    expect(stored()).toBe(sent);
    expect((await alarms()).filter((a) => a.kind === 'temperature_high')).toEqual([]);
    // Back to plausible values: the fault clears. Then the same value for two hours: stuck.
    const stuckAt = 3.25;
    fridge.p.ambient = stuckAt;
    fridge.temperature = stuckAt;
    fridge.faults.compressorFailed = true;
    await minutes(1);
    await t.ticked(async () => (await open('sensor_fault')).length === 0, 5000, 'fault cleared');
    await minutes(121);
    await t.ticked(
      async () => (await open('sensor_fault')).some((a) => a.details.reason === 'stuck'),
      5000,
      'stuck',
    );
  });

  it('drops and counts readings of sensors the cabinet’s profile does not have: memory and store stay bounded', async () => {
    const rows = () => t.hub.db.prepare('SELECT count(*) FROM sensor_state').pluck().get() as number;
    await minutes(1);
    const before = { stored: stored(), rows: rows() };
    // A cabinet that invents sensor ids: its credentials in a client of its own (a bridge maps
    // only its profile's channels, so it would never send these).
    await box.stop();
    const rogue = await mqtt.connectAsync(t.hub.mqttUrl, {
      username: 'ferme/box-1',
      password: box.opts.password,
      clientId: 'ferme/box-1',
      reconnectPeriod: 0,
    });
    for (let batch = 0; batch < 20; batch++) {
      clock += 1000;
      // 250 invented ids a message, 5,000 in all, beside the real t1.
      const readings = [
        { sensor: 't1', c: 3 },
        ...Array.from({ length: 250 }, (_, i) => ({ sensor: `fake-${batch}-${i}`, c: 3 })),
      ];
      await rogue.publishAsync(
        topic({ site: 'ferme', locker: 'box-1' }, 'telemetry'),
        JSON.stringify({ bootId: 'rogue', seq: batch, ts: clock, readings }),
        { qos: 1 },
      );
    }
    await rogue.endAsync(true);
    await t.ticked(
      async () =>
        (await t.api('GET', '/metrics')).body.includes('casier_readings_total{result="unknownSensor"} 5000'),
      5000,
      'counted',
    );
    await t.ticked(() => stored() === before.stored + 20, 5000, 't1 stored');
    expect(t.hub.db.prepare(`SELECT count(*) FROM readings WHERE sensor LIKE 'fake-%'`).pluck().get()).toBe(
      0,
    );
    await t.hub.tick();
    expect(rows()).toBe(before.rows);
  });

  it('does not trust readings stamped far in the future', async () => {
    clock += MIN;
    const ahead = clock;
    clock += 24 * 3_600_000; // the cabinet's clock a day ahead…
    await box.telemetry([{ sensor: 't1', c: 3 }]);
    clock = ahead; // …the hub's is not
    await t.ticked(
      async () => /casier_readings_total\{result="future"\} 1/.test((await t.api('GET', '/metrics')).body),
      5000,
      'counted',
    );
    expect(stored()).toBe(0);
    // A clock that went back before the cabinet's own boot is no better.
    const now = clock;
    clock -= 3 * 3_600_000;
    await box.telemetry([{ sensor: 't1', c: 3 }]);
    clock = now;
    await t.ticked(
      async () =>
        /casier_readings_total\{result="beforeBoot"\} 1/.test((await t.api('GET', '/metrics')).body),
      5000,
      'counted',
    );
    expect((await t.api('GET', '/metrics')).body).toMatch(/casier_readings_total\{result="future"\} 1/);
    expect(stored()).toBe(0);
  });

  it('notifies an unacknowledged alarm again every 15 minutes, until someone acknowledges it', async () => {
    await box.telemetry([{ sensor: 't1', c: 3 }], { mains: false });
    await t.ticked(async () => (await open('on_battery')).length === 1, 5000, 'on_battery');
    const renotified = () =>
      t.hub.db
        .prepare(
          `SELECT count(*) FROM events WHERE type = 'alarm.renotified' AND json_extract(data, '$.kind') = 'on_battery'`,
        )
        .pluck()
        .get() as number;
    clock += 16 * MIN;
    await t.ticked(() => renotified() === 1, 5000, 'a second notification');
    const [alarm] = (await t.api('GET', '/api/v1/alarms?kind=on_battery')).body.alarms;
    await t.api('POST', `/api/v1/alarms/${alarm.id}/ack`, { comment: 'power company called' });
    clock += 16 * MIN;
    await t.hub.tick();
    expect(renotified()).toBe(1);
  });
});

describe('thresholds per site', () => {
  it("applies a site's own chilled limits, validated and audited", async () => {
    const bad = await t.api('PUT', '/api/v1/sites/ferme/rules/chilled', {
      keepMin: 0,
      keepMax: 6,
      warn: { above: 6, forMinutes: 5 },
      critical: { above: 5, forMinutes: 10 },
      cumulativeMinutes: null,
    });
    expect(bad.status).toBe(400);
    const res = await t.api('PUT', '/api/v1/sites/ferme/rules/chilled', {
      keepMin: 0,
      keepMax: 6,
      warn: { above: 6, forMinutes: 5 },
      critical: { above: 10, forMinutes: 10 },
      cumulativeMinutes: null,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect((await t.api('GET', '/api/v1/sites/ferme/rules')).body.chilled.warn).toEqual({
      above: 6,
      forMinutes: 5,
    });
    // +5 °C for 30 minutes: fine here (limit +6 °C); +7 °C for 6 minutes: a warning after 5.
    fridge.faults.compressorFailed = true;
    fridge.p.ambient = 5;
    fridge.temperature = 5;
    await minutes(30);
    expect((await alarms()).filter((a) => a.kind === 'temperature_high')).toEqual([]);
    fridge.p.ambient = 7;
    fridge.temperature = 7;
    await minutes(7);
    expect((await alarms()).filter((a) => a.kind === 'temperature_high').map((a) => a.level)).toEqual([
      'warning',
    ]);
    expect(
      t.hub.db.prepare(`SELECT count(*) FROM events WHERE type = 'site.rules_changed'`).pluck().get(),
    ).toBe(1);
  });
});

describe('what the cold chain writes, and when', () => {
  const state = () =>
    t.hub.db.prepare(`SELECT rules, last_seen FROM sensor_state WHERE sensor = 't1'`).get() as {
      rules: string;
      last_seen: number;
    };
  /** One reading a virtual second, stored before the next. */
  async function seconds(n: number, c = 3) {
    for (let i = 0; i < n; i++) {
      clock += 1000;
      await box.telemetry([{ sensor: 't1', c }]);
      sent++;
      await t.ticked(() => stored() === sent, 5000, 'the reading stored');
    }
  }

  it('writes a sensor reporting every second about every 10 s, an alarm level at once, a quiet one by a sweep, and all of it before stopping', async () => {
    await seconds(2); // written at the first reading, and at the second, which sets its rhythm
    const first = state().last_seen;
    await seconds(4);
    expect(state().last_seen).toBe(first); // kept in memory meanwhile: never sooner than 5 s
    await seconds(6);
    // Written again once the sensor's own 10-s boundary passed (where it falls depends on the sensor).
    expect(state().last_seen).toBeGreaterThan(first);
    expect(state().last_seen - first).toBeLessThanOrEqual(10_000);
    // Above 4 °C: the warning level starts counting; that is written with the reading.
    await seconds(1, 6);
    expect(JSON.parse(state().rules).warning.since).toBe(clock);
    // The 5-minute aggregates answer with every reading, kept back or not.
    const agg = (await t.api('GET', '/api/v1/lockers/box-1/sensors/t1/readings?resolution=5m')).body.points;
    expect(agg.reduce((n: number, p: { n: number }) => n + p.n, 0)).toBe(sent);
    await seconds(2, 6);
    const last = clock;
    // Gone quiet: what its last readings left in memory is written by the hub's sweep, hub running.
    expect(JSON.parse(state().rules).lastTs).toBeLessThan(last);
    clock += 20_000;
    await t.ticked(() => JSON.parse(state().rules).lastTs === last, 5000, 'the kept-back state written');
    await t.restart();
    expect(JSON.parse(state().rules)).toMatchObject({
      lastTs: last,
      lastC: 6,
      warning: { since: last - 2000 },
    });
  });
});
