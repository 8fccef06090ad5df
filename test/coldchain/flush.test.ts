import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Alarms } from '../../hub/domain/coldchain/alarms.ts';
import { ColdChain } from '../../hub/domain/coldchain/coldchain.ts';
import { openStore } from '../../hub/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'casier-flush-'));
const store = openStore(dir);
afterAll(() => {
  store.db.close();
  rmSync(dir, { recursive: true, force: true });
});

const FIVE_MIN = 300_000;
const t0 = Math.floor(Date.UTC(2026, 10, 29, 8) / FIVE_MIN) * FIVE_MIN;
const reading = (c: number) => [{ sensor: 't1', c }];
const aggregates = () =>
  store.db
    .prepare(
      "SELECT bucket, n, sum, min, max FROM readings_5m WHERE locker_id = 'box-1' AND sensor = 't1' ORDER BY bucket",
    )
    .all();

describe('a flush of readings', () => {
  it('that fails is taken apart: the others are stored once, the message that fails alone is dropped and counted', () => {
    store.provisioning.addDevice({ site: 'ferme', locker: 'box-1' }, 'rural-box-8', 'test');
    store.provisioning.addDevice({ site: 'ferme', locker: 'box-2' }, 'rural-box-8', 'test');
    let now = t0 + 60_000;
    const chain = new ColdChain(store.db, store.ledger, new Alarms(store.db, store.ledger), () => now);
    chain.add('box-1', { bootId: 'b', seq: 1, ts: t0 + 1000, readings: reading(2) });
    chain.add('box-1', { bootId: 'b', seq: 2, ts: t0 + 2000, readings: reading(3) });
    chain.flush();

    // Box-1's readings are checked and added to its buckets (one ends, the next begins), then
    // box-2's row fails: that transaction leaves nothing, in the store or in what is kept back;
    // box-1's messages then go again on their own, and count once.
    store.db.exec(
      "CREATE TEMP TRIGGER fail BEFORE INSERT ON telemetry WHEN NEW.locker_id = 'box-2' BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    );
    now += 1000;
    chain.add('box-1', { bootId: 'b', seq: 3, ts: t0 + 3000, readings: reading(1) });
    chain.add('box-1', { bootId: 'b', seq: 4, ts: t0 + FIVE_MIN + 1000, readings: reading(7) });
    chain.add('box-2', { bootId: 'b', seq: 1, ts: t0 + FIVE_MIN + 2000, readings: reading(4) });
    expect(() => chain.flush()).toThrow(/1 readings dropped: disk full/);
    store.db.exec('DROP TRIGGER fail');
    expect(chain.stats).toMatchObject({ stored: 4, failed: 1 });

    chain.persist();
    expect(aggregates()).toEqual([
      { bucket: t0, n: 3, sum: 6, min: 1, max: 3 },
      { bucket: t0 + FIVE_MIN, n: 1, sum: 7, min: 7, max: 7 },
    ]);

    // And the next flush goes on from there.
    now += 1000;
    chain.add('box-1', { bootId: 'b', seq: 5, ts: t0 + FIVE_MIN + 3000, readings: reading(6) });
    chain.flush();
    chain.persist();
    expect(aggregates()).toEqual([
      { bucket: t0, n: 3, sum: 6, min: 1, max: 3 },
      { bucket: t0 + FIVE_MIN, n: 2, sum: 13, min: 6, max: 7 },
    ]);
    expect(chain.stats).toMatchObject({ stored: 5, outOfOrder: 0, failed: 1 });
  });
});

describe('writing what was kept back', () => {
  it('that fails keeps it kept back, for a later write', () => {
    store.provisioning.addDevice({ site: 'vergers', locker: 'box-3' }, 'rural-box-8', 'test');
    const chain = new ColdChain(
      store.db,
      store.ledger,
      new Alarms(store.db, store.ledger),
      () => t0 + 60_000,
    );
    const readings = (c: number) => [
      { sensor: 't2', c },
      { sensor: 't3', c: c + 1 },
    ];
    chain.add('box-3', { bootId: 'b', seq: 1, ts: t0 + 1000, readings: readings(1.5) });
    chain.add('box-3', { bootId: 'b', seq: 2, ts: t0 + 2000, readings: readings(2.5) });
    chain.flush(); // the aggregates are kept back
    const aggregate = () =>
      store.db
        .prepare("SELECT sensor, n, sum FROM readings_5m WHERE locker_id = 'box-3' ORDER BY sensor")
        .all();
    expect(aggregate()).toEqual([]);
    store.db.exec(
      // t2's aggregate is written, then t3's fails: the transaction takes t2's back with it.
      "CREATE TEMP TRIGGER fail BEFORE INSERT ON readings_5m WHEN NEW.sensor = 't3' BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    );
    expect(() => chain.persist('box-3')).toThrow(/disk full/);
    store.db.exec('DROP TRIGGER fail');
    chain.persist('box-3');
    expect(aggregate()).toEqual([
      { sensor: 't2', n: 2, sum: 4 },
      { sensor: 't3', n: 2, sum: 6 },
    ]);
  });
});

describe('the telemetry row of a message', () => {
  it('holds every sensor of the message once, whatever its name', () => {
    // A profile the hub does not know: every id it reports is taken (the names are the point here).
    store.db.prepare(`UPDATE lockers SET profile = 'built-elsewhere' WHERE id = 'box-2'`).run();
    const chain = new ColdChain(
      store.db,
      store.ledger,
      new Alarms(store.db, store.ledger),
      () => t0 + 60_000,
    );
    const ts = t0 + 10_000;
    chain.add('box-2', {
      bootId: 'b',
      seq: 9,
      ts,
      readings: [
        { sensor: '__proto__', c: 5 },
        { sensor: 'constructor', c: -1.5 },
        { sensor: '7', c: 0.0625 },
        { sensor: 't1', c: 2 },
        { sensor: 't1', c: 3 }, // twice at one instant: the first counts
      ],
    });
    chain.flush();
    const row = store.db
      .prepare("SELECT readings FROM telemetry WHERE locker_id = 'box-2' AND ts = ?")
      .pluck()
      .get(ts) as string;
    // Own properties, "__proto__" too (an object literal here would take it for the prototype).
    expect(Object.entries(JSON.parse(row)).sort()).toEqual([
      ['7', 0.0625],
      ['__proto__', 5],
      ['constructor', -1.5],
      ['t1', 2],
    ]);
    expect(chain.stats.outOfOrder).toBe(1);
  });
});

describe('a reading out of its sensor’s order', () => {
  it('is judged again with the others within the checkpoints’ reach, and only counted past it', () => {
    store.provisioning.addDevice({ site: 'vergers', locker: 'box-9' }, 'rural-box-8', 'test');
    const MIN = 60_000;
    const start = t0 + 3_600_000;
    let now = start;
    const chain = new ColdChain(store.db, store.ledger, new Alarms(store.db, store.ledger), () => now);
    // Six hours at +3 °C, one reading a minute, every other minute missing.
    for (let m = 0; m < 360; m += 2) {
      now = start + m * MIN + 1000;
      chain.add('box-9', { bootId: 'b', seq: m, ts: start + m * MIN, readings: [{ sensor: 't1', c: 3 }] });
      chain.flush();
    }
    const alarms = () =>
      store.db
        .prepare(
          "SELECT level, raised_at, cleared_at FROM alarms WHERE locker_id = 'box-9' AND kind = 'temperature_high'",
        )
        .all();
    // Readings at +12 °C come late, in the gaps of the last hour: judged, they give a critical alarm.
    for (let m = 301; m < 331; m += 2)
      chain.add('box-9', {
        bootId: 'b',
        seq: 1000 + m,
        ts: start + m * MIN,
        readings: [{ sensor: 't1', c: 12 }],
      });
    chain.flush();
    expect(chain.stats).toMatchObject({ replayed: 1, tooLate: 0 });
    // Every other minute at +12 °C from minute 301: the time above +8 °C passes 10 minutes at the
    // warm reading of minute 323; back under it (less 0.5 °C) from minute 330, for 10 minutes at 340.
    expect(alarms()).toContainEqual({
      level: 'critical',
      raised_at: start + 323 * MIN,
      cleared_at: start + 340 * MIN,
    });
    // Five hours late: past the oldest checkpoint (4 hours), stored but not judged.
    chain.add('box-9', { bootId: 'b', seq: 2000, ts: start + 21 * MIN, readings: [{ sensor: 't1', c: 12 }] });
    chain.flush();
    expect(chain.stats).toMatchObject({ replayed: 1, tooLate: 1 });
  });
});

describe('a calibration', () => {
  it('corrects the readings taken from then on, not those taken before that arrive later', () => {
    store.provisioning.addDevice({ site: 'vergers', locker: 'box-8' }, 'rural-box-8', 'test');
    const now = t0 + 3_600_000;
    const chain = new ColdChain(store.db, store.ledger, new Alarms(store.db, store.ledger), () => now);
    chain.calibrate('box-8', 't1', -0.5, t0 + 600_000, 'Testo 104');
    chain.add('box-8', { bootId: 'b', seq: 1, ts: t0 + 660_000, readings: reading(4.3) });
    // Buffered through an outage: taken before the calibration, it reached the hub after it.
    chain.add('box-8', { bootId: 'b', seq: 2, ts: t0 + 300_000, readings: reading(4.3) });
    chain.flush();
    const values = store.db
      .prepare(`SELECT ts, c FROM readings WHERE locker_id = 'box-8' AND sensor = 't1' ORDER BY ts`)
      .all();
    expect(values).toEqual([
      { ts: t0 + 300_000, c: 4.3 },
      { ts: t0 + 660_000, c: 3.8 },
    ]);
  });
});
