/**
 * Readings that reach the hub late (a cabinet replaying its buffer after an outage) are judged on
 * the time they were taken, against the parcels that were inside then: not those deposited since,
 * and the one picked up meanwhile is told breached. The hub's clock and the cabinet's are the
 * test's, apart: the cabinet stamps its readings when they were taken.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SimLocker } from '../../cli/sim-locker.ts';
import { SEAL_WAIT_MS } from '../../hub/domain/coldchain/record.ts';
import { eventually, startTestHub, type TestHub, waitFor } from '../helpers/hub.ts';
import { orderParcel, releaseDoor, useCode } from '../helpers/parcels.ts';
import { lineProxy } from '../helpers/proxy.ts';

const MIN = 60_000;
const T = Date.UTC(2026, 11, 7, 6, 0);
let t: TestHub;
let box: SimLocker;
let hubTime: number;
let cabinetTime: number;

beforeEach(async () => {
  hubTime = T;
  cabinetTime = T;
  t = await startTestHub({ now: () => hubTime, manualTicks: true });
  box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8', { now: () => cabinetTime });
});
afterEach(() => t.close());

/** Both clocks move on together. */
const at = (ms: number) => {
  hubTime = ms;
  cabinetTime = ms;
};
const parcel = async (id: string) => (await t.api('GET', `/api/v1/parcels/${id}`)).body;
const stored = () => t.hub.db.prepare('SELECT count(*) FROM readings').pluck().get() as number;

describe('readings replayed late', () => {
  it('hold the parcel that was inside, not one deposited since, and tell of the one picked up meanwhile', async () => {
    let sent = 0;
    const read = async (c: number) => {
      await box.telemetry([{ sensor: 't1', c }]);
      sent++;
      await t.ticked(() => stored() === sent, 5000, 'stored');
    };
    await read(3);
    const a = await orderParcel(t);
    expect(a.parcel.door).toBe(1);
    await useCode(box, a.depositCode, 1);
    await t.ticked(async () => (await parcel(a.parcel.id)).state === 'stored');
    // 20 minutes on, A is picked up; the cabinet's readings meanwhile wait in its buffer.
    at(T + 20 * MIN);
    await useCode(box, a.pickupCode, 1);
    await t.ticked(async () => (await parcel(a.parcel.id)).state === 'picked_up');
    at(T + 30 * MIN);
    const b = await orderParcel(t);
    expect(b.parcel.door).toBe(1);
    await useCode(box, b.depositCode, 1);
    await t.ticked(async () => (await parcel(b.parcel.id)).state === 'stored');
    // Now the buffer arrives: +12 °C from minute 1 to 18 (critical at minute 12), then +3 °C.
    for (let m = 1; m <= 30; m++) {
      cabinetTime = T + m * MIN;
      await read(m <= 18 ? 12 : 3);
    }
    expect(await parcel(b.parcel.id)).toMatchObject({ state: 'stored' });
    expect(await parcel(a.parcel.id)).toMatchObject({ state: 'picked_up' });
    const ra = (await t.api('GET', `/api/v1/parcels/${a.parcel.id}/temperature`)).body;
    expect(ra.verdict).toBe('breached');
    expect(ra.breach.at).toBeGreaterThanOrEqual(T + 11 * MIN);
    expect(ra.breach.at).toBeLessThan(T + 20 * MIN);
    const told = t.hub.db
      .prepare(`SELECT count(*) FROM events WHERE type = 'parcel.breached' AND parcel_id = ?`)
      .pluck()
      .get(a.parcel.id);
    expect(told).toBe(1);
  });

  it('do not count against goods whose deposit is under way, for the time before its door opened', async () => {
    const a = await orderParcel(t);
    at(T + 3 * 60 * MIN);
    await releaseDoor(box, a.depositCode, a.parcel.door);
    box.openDoor(a.parcel.door); // the producer puts the goods in
    await t.ticked(
      () =>
        t.hub.db
          .prepare('SELECT pending_opened FROM compartments WHERE door = ?')
          .pluck()
          .get(a.parcel.door) === 1,
    );
    // The buffer of an outage arrives meanwhile: 70 minutes at +6 °C, two hours before.
    let sent = stored();
    for (let m = 10; m <= 80; m++) {
      cabinetTime = T + m * MIN;
      await box.telemetry([{ sensor: `t${a.parcel.door}`, c: 6 }]);
      sent++;
      await t.ticked(() => stored() === sent, 5000, 'stored');
    }
    cabinetTime = T + 3 * 60 * MIN + 30_000;
    box.closeDoor(a.parcel.door);
    await t.ticked(async () => (await parcel(a.parcel.id)).state !== 'reserved');
    expect(await parcel(a.parcel.id)).toMatchObject({ state: 'stored' });
    const r = (await t.api('GET', `/api/v1/parcels/${a.parcel.id}/temperature`)).body;
    expect(r).toMatchObject({ minutesOutOfRange: 0, breach: null });
  });

  it('seals a record without the readings of its last stay once it has waited a day for them', async () => {
    const a = await orderParcel(t);
    await useCode(box, a.depositCode, a.parcel.door);
    await t.ticked(async () => (await parcel(a.parcel.id)).state === 'stored');
    at(T + 10 * MIN);
    await useCode(box, a.pickupCode, a.parcel.door);
    await t.ticked(async () => (await parcel(a.parcel.id)).state === 'picked_up');
    const record = async () => (await t.api('GET', `/api/v1/parcels/${a.parcel.id}/temperature`)).body;
    at(T + 10 * MIN + SEAL_WAIT_MS - 1000);
    await t.hub.tick();
    expect((await record()).sealedAt).toBeNull();
    at(T + 10 * MIN + SEAL_WAIT_MS + 1000);
    await t.hub.tick();
    expect(await record()).toMatchObject({
      sealedAt: T + 10 * MIN + SEAL_WAIT_MS + 1000,
      verdict: 'unknown',
    });
  });

  it('seals the record of a pickup that reached the hub long after its door closed', async () => {
    // A second cabinet behind a line the test can cut, the hub running all along.
    const line = await lineProxy(t.hub.mqttPort as number);
    const far = await t.locker({ site: 'ferme', locker: 'box-2' }, 'rural-box-8', {
      url: `mqtt://127.0.0.1:${line.port}`,
      now: () => cabinetTime,
    });
    try {
      const res = await t.api(
        'POST',
        '/api/v1/parcels',
        { lockerId: 'box-2', size: 'M', temperatureClass: 'chilled', recipient: { name: 'Ada' } },
        t.integration,
      );
      const a = res.body as { parcel: { id: string; door: number }; depositCode: string; pickupCode: string };
      const use = async (code: string) => {
        const unlocked = waitFor<[number]>(far, 'unlocked', (d) => d === a.parcel.door);
        far.pressCode(code);
        await unlocked;
        far.openDoor(a.parcel.door);
        far.closeDoor(a.parcel.door);
      };
      await use(a.depositCode);
      await t.ticked(async () => (await parcel(a.parcel.id)).state === 'stored');
      await t.ticked(() => (far.outbox.codeTable()?.entries.length ?? 0) > 0, 5000, 'the offline table');
      // The line drops; at T + 5 min the customer collects, offline.
      line.cut();
      await eventually(() => !far.connected, 5000, 'the bridge offline');
      cabinetTime = T + 5 * MIN;
      const closed = waitFor<[{ type: string }]>(far, 'recorded', (ev) => ev.type === 'door.closed');
      await use(a.pickupCode);
      await closed; // journalled at T + 5 min, on the cabinet's clock
      // The hub goes on meanwhile: its record sealer runs at T + 20 min.
      at(T + 20 * MIN);
      await t.hub.tick();
      line.restore();
      await t.ticked(async () => (await parcel(a.parcel.id)).state === 'picked_up', 15_000, 'picked up');
      expect((await parcel(a.parcel.id)).pickedUpAt).toBe(T + 5 * MIN); // when its door closed
      // Sealed only once its readings are in: the cabinet sends its buffered ones after its events.
      const record = async () => (await t.api('GET', `/api/v1/parcels/${a.parcel.id}/temperature`)).body;
      await t.hub.tick();
      expect((await record()).sealedAt).toBeNull();
      cabinetTime = T + 6 * MIN;
      await far.telemetry([{ sensor: `t${a.parcel.door}`, c: 3 }]);
      await t.ticked(async () => (await record()).sealedAt !== null, 5000, 'sealed');
    } finally {
      await far.stop();
      await line.close();
    }
  });
});
