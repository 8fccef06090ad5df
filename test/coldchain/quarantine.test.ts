/**
 * A critical breach holds every parcel whose goods are in the compartment, whatever its state: a
 * deposit still in progress, a parcel stored, ready at its destination, or expired uncollected.
 * Hours run on the hub's clock; the hub's sweeps and flusher run when the test ticks them.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SimLocker } from '../../cli/sim-locker.ts';
import { gs1CheckDigit } from '../../devices/index.ts';
import { startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';
import { orderParcel, releaseDoor, useCode } from '../helpers/parcels.ts';

const MIN = 60_000;
let t: TestHub;
let box: SimLocker;
let clock: number;
let sent = 0;

beforeEach(async () => {
  clock = Date.UTC(2026, 11, 4, 6, 0);
  sent = 0;
  t = await startTestHub({ now: () => clock, manualTicks: true });
  box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
});
afterEach(() => t.close());

const parcel = async (id: string) => (await t.api('GET', `/api/v1/parcels/${id}`)).body;
const stored = () => t.hub.db.prepare('SELECT count(*) FROM readings').pluck().get() as number;

/** `sensor` of `locker` reads `c` once a minute for `n` minutes; each reading stored and judged. */
async function reads(locker: SimLocker, sensor: string, c: number, n: number) {
  for (let m = 0; m < n; m++) {
    clock += MIN;
    await locker.telemetry([{ sensor, c }]);
    sent++;
    await t.ticked(() => stored() === sent, 5000, 'the reading stored');
  }
}

async function refusedWith(locker: SimLocker, code: string): Promise<string> {
  const shown = waitFor<[{ type: string; text?: string }]>(locker, 'command', (c) => c.type === 'display');
  locker.pressCode(code);
  return (await shown)[0].text ?? '';
}

describe('a critical breach quarantines the goods inside, whatever the parcel’s state', () => {
  it('holds a parcel stored in the compartment', async () => {
    const p = await orderParcel(t);
    expect(p.parcel.door).toBe(1); // watched by t1
    await useCode(box, p.depositCode, 1);
    await t.ticked(async () => (await parcel(p.parcel.id)).state === 'stored');
    await reads(box, 't1', 12, 12);
    expect(await parcel(p.parcel.id)).toMatchObject({ state: 'quarantined' });
    expect(await refusedWith(box, p.pickupCode)).toBe('Parcel held: temperature');
  });

  it('holds a deposit in progress, and keeps it held once the producer closes the door', async () => {
    const p = await orderParcel(t);
    await releaseDoor(box, p.depositCode, 1);
    box.openDoor(1); // the goods go in; the producer is slow to close
    await t.ticked(
      async () => (await t.api('GET', '/api/v1/lockers/box-1')).body.compartments[0].doorState === 'open',
    );
    await reads(box, 't1', 12, 12);
    expect(await parcel(p.parcel.id)).toMatchObject({ state: 'quarantined' });
    box.closeDoor(1);
    // The deposit is recorded, the parcel stays held: its pickup code opens nothing.
    await t.ticked(async () => (await parcel(p.parcel.id)).storedAt !== null, 5000, 'the deposit recorded');
    expect(await parcel(p.parcel.id)).toMatchObject({ state: 'quarantined' });
    expect(await refusedWith(box, p.pickupCode)).toBe('Parcel held: temperature');
    // Released by an operator, it is stored: the customer collects it.
    const res = await t.api('POST', `/api/v1/parcels/${p.parcel.id}/release`, { reason: 'probe checked' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(await parcel(p.parcel.id)).toMatchObject({ state: 'stored' });
    await useCode(box, p.pickupCode, 1);
    await t.ticked(async () => (await parcel(p.parcel.id)).state === 'picked_up');
  });

  it('takes a held parcel’s codes out of the table the cabinet checks offline, and back on release', async () => {
    const p = await orderParcel(t);
    await useCode(box, p.depositCode, 1);
    await t.ticked(async () => (await parcel(p.parcel.id)).state === 'stored');
    const pickupHash = t.hub.db
      .prepare(`SELECT offline_hash FROM codes WHERE parcel_id = ? AND kind = 'pickup'`)
      .pluck()
      .get(p.parcel.id) as string;
    const offline = () => new Set(box.outbox.codeTable()?.entries.map((e) => e.h));
    await t.ticked(() => offline().has(pickupHash), 5000, 'the pickup code offline');
    await reads(box, 't1', 12, 12);
    expect(await parcel(p.parcel.id)).toMatchObject({ state: 'quarantined' });
    await t.ticked(() => !offline().has(pickupHash), 5000, 'the held code gone from the Pi');
    await reads(box, 't1', 4, 5);
    expect(
      (await t.api('POST', `/api/v1/parcels/${p.parcel.id}/release`, { reason: 'checked' })).status,
    ).toBe(200);
    await t.ticked(() => offline().has(pickupHash), 5000, 'back on release');
  });

  it('holds a released parcel again at the next breach', async () => {
    const p = await orderParcel(t);
    await useCode(box, p.depositCode, 1);
    await t.ticked(async () => (await parcel(p.parcel.id)).state === 'stored');
    await reads(box, 't1', 12, 12);
    expect(await parcel(p.parcel.id)).toMatchObject({ state: 'quarantined' });
    await reads(box, 't1', 4, 5); // cold again: the alarm clears
    const res = await t.api('POST', `/api/v1/parcels/${p.parcel.id}/release`, { reason: 'probe checked' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(await parcel(p.parcel.id)).toMatchObject({ state: 'stored' });
    await reads(box, 't1', 12, 12);
    expect(await parcel(p.parcel.id)).toMatchObject({ state: 'quarantined' });
    expect(await refusedWith(box, p.pickupCode)).toBe('Parcel held: temperature');
    const holds = t.hub.db
      .prepare(`SELECT count(*) FROM events WHERE type = 'parcel.quarantined' AND parcel_id = ?`)
      .pluck()
      .get(p.parcel.id);
    expect(holds).toBe(2);
  });

  it('records a pickup under way when the breach came: the goods left, flagged for an operator', async () => {
    const p = await orderParcel(t);
    await useCode(box, p.depositCode, 1);
    await t.ticked(async () => (await parcel(p.parcel.id)).state === 'stored');
    await reads(box, 't1', 12, 11); // warm for 10 minutes: one more reading and it is critical
    await releaseDoor(box, p.pickupCode, 1); // released for the customer…
    // …who opens it half a minute later, as the reading that makes it critical comes in: the
    // breach holds the parcel meanwhile (a release nobody follows ends after a minute).
    clock += 30_000;
    await box.telemetry([{ sensor: 't1', c: 12 }]);
    sent++;
    await t.ticked(() => stored() === sent, 5000, 'the reading stored');
    expect(await parcel(p.parcel.id)).toMatchObject({ state: 'quarantined' });
    box.openDoor(1);
    box.closeDoor(1);
    await t.ticked(
      async () => (await parcel(p.parcel.id)).state === 'picked_up',
      5000,
      'the pickup recorded',
    );
    const entry = t.hub.db
      .prepare(`SELECT data FROM events WHERE type = 'parcel.picked_up' AND parcel_id = ?`)
      .pluck()
      .get(p.parcel.id) as string;
    expect(JSON.parse(entry)).toMatchObject({ held: true });
    const door = (await t.api('GET', '/api/v1/lockers/box-1')).body.compartments[0];
    expect(door.parcelId ?? null).toBeNull();
  });

  it('holds frozen goods in a freezer cycling −19 ↔ −11 °C, though every cycle dips under the limit', async () => {
    const p = await orderParcel(t, { temperatureClass: 'frozen' });
    const sensor = box.opts.profile.compartments.find((c) => c.door === p.parcel.door)?.sensor as string;
    await reads(box, sensor, -20, 2);
    await useCode(box, p.depositCode, p.parcel.door);
    await t.ticked(async () => (await parcel(p.parcel.id)).state === 'stored');
    // Three hours of a triangle wave, 20 minutes a cycle: above −18 °C 15 minutes of each.
    for (let m = 0; m < 180; m++) {
      const phase = m % 20;
      await reads(box, sensor, phase < 10 ? -11 - 0.8 * phase : -19 + 0.8 * (phase - 10), 1);
    }
    expect(await parcel(p.parcel.id)).toMatchObject({ state: 'quarantined' });
    expect(await refusedWith(box, p.pickupCode)).toBe('Parcel held: temperature');
    const warned = (await t.api('GET', '/api/v1/alarms?kind=temperature_high')).body.alarms as Array<{
      level: string;
    }>;
    expect(warned.map((a) => a.level)).toContain('warning');
  });

  it('keeps "collect before" up to date as the compartment warms, within the parcels’ own budget', async () => {
    const p = await orderParcel(t);
    await useCode(box, p.depositCode, 1);
    await t.ticked(async () => (await parcel(p.parcel.id)).state === 'stored');
    const warning = async () =>
      (
        (await t.api('GET', '/api/v1/alarms?kind=temperature_high')).body.alarms as Array<{
          level: string;
          details: { collectBefore?: number };
        }>
      ).find((a) => a.level === 'warning');
    // Just above +4 °C and creeping up: warned after 20 minutes; the slow rise alone would give
    // hours, the parcel's hour out of range in all gives less.
    for (let m = 0; m < 22; m++) await reads(box, 't1', 4.5 + 0.01 * m, 1);
    const first = (await warning())?.details.collectBefore as number;
    expect(first).toBeDefined();
    for (let m = 22; m < 30; m++) await reads(box, 't1', 4.5 + 0.01 * m, 1);
    const later = (await warning())?.details.collectBefore as number;
    const oor = (t.hub.db
      .prepare('SELECT out_of_range_ms FROM parcels WHERE id = ?')
      .pluck()
      .get(p.parcel.id) ?? 0) as number;
    // The parcel's budget runs out first: an hour out of range in all, counted to this reading.
    expect(later).toBe(clock + 60 * MIN - oor);
    expect(first).toBeGreaterThanOrEqual(later - MIN);
  });

  it('drops "collect before" once the compartment stops warming', async () => {
    const warning = async () =>
      (
        (await t.api('GET', '/api/v1/alarms?kind=temperature_high')).body.alarms as Array<{
          level: string;
          details: { collectBefore?: number; advice?: string };
        }>
      ).find((a) => a.level === 'warning');
    // An empty compartment warming by 0.05 °C a minute: warned, with a time to collect before.
    for (let m = 0; m < 22; m++) await reads(box, 't1', 4.5 + 0.05 * m, 1);
    expect((await warning())?.details.collectBefore).toEqual(expect.any(Number));
    // Then it holds at +5.6 °C: nothing is on its way to the critical limit any more.
    await reads(box, 't1', 5.6, 16);
    const details = (await warning())?.details;
    expect(details?.advice).toBe('not warming any more');
    expect(details).not.toHaveProperty('collectBefore');
  });

  it('corrects a calibrated sensor’s readings from then on, and the daily sheet says so', async () => {
    await reads(box, 't1', 4.3, 1);
    const res = await t.api('PUT', '/api/v1/lockers/box-1/sensors/t1/calibration', {
      offsetC: -0.5,
      reference: 'Testo 104, certificate 2026-118',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ offsetC: -0.5, calibratedAt: clock });
    await reads(box, 't1', 4.3, 1); // reads +4.3 °C: it is +3.8 °C
    const values = t.hub.db.prepare(`SELECT c FROM readings WHERE sensor = 't1' ORDER BY ts`).pluck().all();
    expect(values).toEqual([4.3, 3.8]);
    const day = new Date(clock).toISOString().slice(0, 10);
    const sheet = (await t.api('GET', `/api/v1/lockers/box-1/daily-sheet?date=${day}`)).body;
    expect(sheet.sensors.find((x: { sensor: string }) => x.sensor === 't1').calibration).toEqual({
      offsetC: -0.5,
      calibratedAt: clock - MIN,
      reference: 'Testo 104, certificate 2026-118',
    });
    expect((await t.api('PUT', '/api/v1/lockers/box-1/sensors/t99/calibration', { offsetC: 1 })).status).toBe(
      404,
    );
    expect(
      t.hub.db.prepare(`SELECT count(*) FROM events WHERE type = 'sensor.calibrated'`).pluck().get(),
    ).toBe(1);
  });

  it('allocates no parcel to a compartment reading out of its range, before any alarm', async () => {
    await reads(box, 't1', 6, 1); // door 1 at +6 °C for a minute: no alarm yet, but no place for goods
    await reads(box, 't2', 3, 1);
    expect((await orderParcel(t)).parcel.door).toBe(2);
  });

  it('allocates no parcel to a compartment in alarm, and none when every one of its class is', async () => {
    await reads(box, 't5', -10, 15); // door 5's freezer at −10 °C: critical
    const high = (await t.api('GET', '/api/v1/alarms?kind=temperature_high')).body.alarms as Array<{
      sensor: string;
    }>;
    expect(high.map((a) => a.sensor)).toContain('t5');
    const p = await orderParcel(t, { temperatureClass: 'frozen' });
    expect(p.parcel.door).toBe(6);
    const refused = await t.api(
      'POST',
      '/api/v1/parcels',
      { lockerId: 'box-1', size: 'M', temperatureClass: 'frozen', recipient: { name: 'Bo' } },
      t.integration,
    );
    expect(refused.status).toBe(409); // door 6 is taken, door 5 is warm: no frozen door to give
  });

  it('holds chilled goods freezing, and says so with an alarm', async () => {
    const p = await orderParcel(t);
    await useCode(box, p.depositCode, 1);
    await t.ticked(async () => (await parcel(p.parcel.id)).state === 'stored');
    await reads(box, 't1', -4, 35); // a compressor stuck on
    const low = (await t.api('GET', '/api/v1/alarms?kind=temperature_low')).body.alarms as Array<{
      level: string;
    }>;
    expect(low.map((a) => a.level).sort()).toEqual(['critical', 'warning']);
    expect(await parcel(p.parcel.id)).toMatchObject({ state: 'quarantined' });
    expect(await refusedWith(box, p.pickupCode)).toBe('Parcel held: temperature');
  });

  it('keeps minced meat to its own +2 °C: allocated only where it is that cold, held after an hour above it', async () => {
    for (const sensor of ['t1', 't2', 't3', 't4']) await reads(box, sensor, 3, 1);
    const refused = await t.api(
      'POST',
      '/api/v1/parcels',
      {
        lockerId: 'box-1',
        size: 'M',
        temperatureClass: 'chilled',
        category: 'minced_meat',
        recipient: { name: 'Ada' },
      },
      t.integration,
    );
    expect(refused.status).toBe(409); // every chilled door reads +3 °C
    expect(refused.body.error.message).toMatch(/2 °C or less/);
    expect(
      (
        await t.api(
          'POST',
          '/api/v1/parcels',
          {
            lockerId: 'box-1',
            size: 'M',
            temperatureClass: 'frozen',
            category: 'minced_meat',
            recipient: { name: 'Ada' },
          },
          t.integration,
        )
      ).status,
    ).toBe(400);
    await reads(box, 't2', 1.5, 1);
    const meat = await orderParcel(t, { category: 'minced_meat' });
    expect(meat.parcel.door).toBe(2);
    const cheese = await orderParcel(t, { category: 'perishable_dairy' });
    expect(cheese.parcel.door).toBe(1);
    await useCode(box, meat.depositCode, 2);
    await useCode(box, cheese.depositCode, 1);
    await t.ticked(async () => (await parcel(meat.parcel.id)).state === 'stored');
    await t.ticked(async () => (await parcel(cheese.parcel.id)).state === 'stored');
    // Both doors at +3 °C for an hour: within chilled's 0…+4, above minced meat's +2.
    for (let m = 0; m < 62; m++) {
      clock += MIN;
      await box.telemetry([
        { sensor: 't1', c: 3 },
        { sensor: 't2', c: 3 },
      ]);
      sent += 2;
      await t.ticked(() => stored() === sent, 5000, 'the readings stored');
    }
    expect(await parcel(meat.parcel.id)).toMatchObject({ state: 'quarantined', category: 'minced_meat' });
    expect(await parcel(cheese.parcel.id)).toMatchObject({ state: 'stored' });
    const record = (await t.api('GET', `/api/v1/parcels/${meat.parcel.id}/temperature`)).body;
    expect(record.range).toEqual({ min: 0, max: 2 });
    expect(record.verdict).toBe('breached');
  });

  it('holds a parcel expired uncollected, its goods still inside', async () => {
    const p = await orderParcel(t, { pickupWindowHours: 1 });
    await useCode(box, p.depositCode, 1);
    await t.ticked(async () => (await parcel(p.parcel.id)).state === 'stored');
    clock += 61 * MIN;
    await t.hub.tick();
    expect(await parcel(p.parcel.id)).toMatchObject({ state: 'expired' });
    await reads(box, 't1', 12, 12);
    expect(await parcel(p.parcel.id)).toMatchObject({ state: 'quarantined' });
  });

  it('holds a parcel ready at its destination locker', async () => {
    const town = await t.locker({ site: 'lyon', locker: 'town-1' }, 'town-locker-16');
    const body = `3761234567${'1'.padStart(7, '0')}`;
    const sscc = `${body}${gs1CheckDigit(body)}`;
    const driver = (await t.api('POST', '/api/v1/drivers', { name: 'Yann', sites: ['ferme', 'lyon'] }))
      .body as { code: string };
    const p = await orderParcel(t, { destinationLockerId: 'town-1', sscc });
    await useCode(box, p.depositCode, p.parcel.door);
    await t.ticked(async () => (await parcel(p.parcel.id)).state === 'stored');
    // Collected at the box: the driver's code opens its door, a scan, the door closes.
    await releaseDoor(box, driver.code, p.parcel.door);
    box.openDoor(p.parcel.door);
    box.scan(`]C100${sscc}`);
    box.closeDoor(p.parcel.door);
    await t.ticked(async () => (await parcel(p.parcel.id)).state === 'in_transit');
    // Delivered in town: the driver's code, a scan, a chilled door allocated and opened.
    const shown = waitFor<[{ type: string }]>(town, 'command', (c) => c.type === 'display');
    town.pressCode(driver.code);
    await shown;
    const unlocked = waitFor<[number]>(town, 'unlocked');
    town.scan(`]C100${sscc}`);
    const [door] = await unlocked;
    town.openDoor(door);
    town.closeDoor(door);
    await t.ticked(async () => (await parcel(p.parcel.id)).state === 'ready');
    const sensor = town.opts.profile.compartments.find((c) => c.door === door)?.sensor as string;
    await reads(town, sensor, 12, 12);
    expect(await parcel(p.parcel.id)).toMatchObject({ state: 'quarantined' });
    expect(await refusedWith(town, p.pickupCode)).toBe('Parcel held: temperature');
    // Released, it is ready again where it was, and the customer collects it.
    await reads(town, sensor, 4, 5);
    const res = await t.api('POST', `/api/v1/parcels/${p.parcel.id}/release`, { reason: 'probe checked' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(await parcel(p.parcel.id)).toMatchObject({ state: 'ready' });
    await useCode(town, p.pickupCode, door);
    await t.ticked(async () => (await parcel(p.parcel.id)).state === 'picked_up');
  });
});

describe('the temperature record follows the parcel', () => {
  it('has a stay per compartment, each with its own sensor, and the van leg as time not watched', async () => {
    const town = await t.locker({ site: 'lyon', locker: 'town-1' }, 'town-locker-16');
    const body = `3761234567${'2'.padStart(7, '0')}`;
    const sscc = `${body}${gs1CheckDigit(body)}`;
    const driver = (await t.api('POST', '/api/v1/drivers', { name: 'Yann', sites: ['ferme', 'lyon'] }))
      .body as { code: string };
    const p = await orderParcel(t, { destinationLockerId: 'town-1', sscc });
    const townSensors = town.opts.profile.compartments.filter((c) => c.temperatureClass === 'chilled');
    // Town's chilled doors are warm before the parcel comes: none of it is the parcel's.
    for (const c of townSensors) await reads(town, c.sensor as string, 9, 1);
    await useCode(box, p.depositCode, p.parcel.door);
    await t.ticked(async () => (await parcel(p.parcel.id)).state === 'stored');
    await reads(box, 't1', 3, 30);
    await releaseDoor(box, driver.code, p.parcel.door);
    box.openDoor(p.parcel.door);
    box.scan(`]C100${sscc}`);
    box.closeDoor(p.parcel.door);
    await t.ticked(async () => (await parcel(p.parcel.id)).state === 'in_transit');
    await reads(box, 't1', 12, 10); // the farm box warms after the parcel left: not the parcel's either
    clock += 45 * MIN; // in the van
    // Town's doors cold again before the van comes (a warm door takes no delivery).
    for (const c of townSensors) await reads(town, c.sensor as string, 3, 1);
    const shown = waitFor<[{ type: string }]>(town, 'command', (c) => c.type === 'display');
    town.pressCode(driver.code);
    await shown;
    const unlocked = waitFor<[number]>(town, 'unlocked');
    town.scan(`]C100${sscc}`);
    const [door] = await unlocked;
    town.openDoor(door);
    town.closeDoor(door);
    await t.ticked(async () => (await parcel(p.parcel.id)).state === 'ready');
    const sensor = town.opts.profile.compartments.find((c) => c.door === door)?.sensor as string;
    await reads(town, sensor, 4, 20);
    const r = (await t.api('GET', `/api/v1/parcels/${p.parcel.id}/temperature`)).body;
    expect(
      r.stays.map((s: { lockerId: string; door: number; sensor: string }) => [s.lockerId, s.door, s.sensor]),
    ).toEqual([
      ['box-1', p.parcel.door, 't1'],
      ['town-1', door, sensor],
    ]);
    expect(r.stays[0]).toMatchObject({ readings: 30, min: 3, max: 3, minutesUnknown: 0 });
    expect(r.stays[1]).toMatchObject({ readings: 20, min: 4, max: 4, to: null });
    expect(r.legs).toHaveLength(1);
    expect(r.legs[0]).toMatchObject({ monitored: false });
    expect(r.legs[0].minutes).toBeGreaterThanOrEqual(45);
    expect(r).toMatchObject({ readings: 50, min: 3, max: 4 });
    // Nothing out of range was seen, but the van was not watched: never "ok".
    expect({ oor: r.minutesOutOfRange, alarms: r.alarms.map((a: { kind: string }) => a.kind) }).toEqual({
      oor: 0,
      alarms: [],
    });
    expect(r.verdict).toBe('unknown');
    expect(r.minutesUnknown).toBeGreaterThanOrEqual(45);
  });

  it('counts a silent sensor as time unknown, never in range', async () => {
    const p = await orderParcel(t);
    await useCode(box, p.depositCode, 1);
    await t.ticked(async () => (await parcel(p.parcel.id)).state === 'stored');
    await reads(box, 't1', 3, 10);
    clock += 60 * MIN; // the probe says nothing for an hour
    await reads(box, 't1', 3, 10);
    const r = (await t.api('GET', `/api/v1/parcels/${p.parcel.id}/temperature`)).body;
    expect(r.verdict).toBe('unknown');
    expect(r.stays[0].minutesUnknown).toBeGreaterThanOrEqual(55);
  });

  it('is sealed at pickup and kept past the raw readings’ retention, its series from the 5-minute means', async () => {
    const p = await orderParcel(t);
    await useCode(box, p.depositCode, 1);
    await t.ticked(async () => (await parcel(p.parcel.id)).state === 'stored');
    await reads(box, 't1', 3, 30);
    await useCode(box, p.pickupCode, 1);
    await t.ticked(async () => (await parcel(p.parcel.id)).state === 'picked_up');
    const record = async () => (await t.api('GET', `/api/v1/parcels/${p.parcel.id}/temperature`)).body;
    const before = await record();
    expect(before).toMatchObject({ readings: 30, min: 3, max: 3, seriesStep: 'reading' });
    await t.hub.tick();
    const sealed = await record();
    expect(sealed.sealedAt).not.toBeNull();
    expect(sealed.series).toHaveLength(30);
    // 91 days on, the raw readings are gone; the record is not.
    clock += 91 * 86_400_000;
    await t.ticked(
      () => t.hub.db.prepare('SELECT count(*) FROM readings').pluck().get() === 0,
      5000,
      'pruned',
    );
    const later = await record();
    expect(later).toMatchObject({ readings: 30, min: 3, max: 3, verdict: sealed.verdict, seriesStep: '5m' });
    expect(later.stays).toEqual(sealed.stays);
    expect(later.series.length).toBeGreaterThan(0);
    expect(later.series.every((r: { c: number }) => r.c === 3)).toBe(true);
  });

  it('keeps the time out of range counted as the readings came, once they are pruned', async () => {
    const p = await orderParcel(t);
    await useCode(box, p.depositCode, 1);
    await t.ticked(async () => (await parcel(p.parcel.id)).state === 'stored');
    await reads(box, 't1', 6, 30); // half an hour above +4 °C
    await reads(box, 't1', 3, 1);
    const outOfRange = () =>
      t.hub.db.prepare('SELECT out_of_range_ms FROM parcels WHERE id = ?').pluck().get(p.parcel.id) as number;
    const counted = outOfRange();
    expect(counted).toBe(30 * MIN);
    // Never collected; 91 days on its readings are pruned, then an operator takes the goods out.
    clock += 91 * 86_400_000;
    await t.ticked(() => stored() === 0, 5000, 'pruned');
    sent = 0;
    const unlocked = waitFor<[number]>(box, 'unlocked', (d) => d === 1);
    const opened = await t.api('POST', '/api/v1/lockers/box-1/compartments/1/open', {
      reason: 'uncollected for 3 months',
      retrieve: true,
    });
    expect(opened.status, JSON.stringify(opened.body)).toBe(202);
    await unlocked;
    box.openDoor(1);
    box.closeDoor(1);
    await t.ticked(async () => (await parcel(p.parcel.id)).state === 'returned');
    await t.hub.tick();
    // Settled from a store without its readings, it would have come to nothing.
    expect(outOfRange()).toBe(counted);
  });
});
