import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../hub/db/migrations.ts';
import { migrate } from '../../hub/db/open.ts';
import { pruneReadings } from '../../hub/domain/coldchain/retention.ts';

/** A store left by an older casier at schema `version`. */
function storeAt(version: number): Database.Database {
  const db = new Database(':memory:');
  for (const sql of MIGRATIONS.slice(0, version)) db.exec(sql);
  db.pragma(`user_version = ${version}`);
  return db;
}

describe('store upgrades', () => {
  it('moves raw readings to one row per message, and every reading query sees the same readings', () => {
    const db = storeAt(17);
    const insert = db.prepare('INSERT INTO readings (locker_id, sensor, ts, c) VALUES (?, ?, ?, ?)');
    const old: Array<[string, string, number, number]> = [
      ['ferme/box-1', 't1', 1000, 3.5],
      ['ferme/box-1', 't2', 1000, 4],
      ['ferme/box-1', 't1', 31_000, 3.25],
      ['ferme/box-2', 't1', 1000, -18.5],
    ];
    for (const r of old) insert.run(...r);
    migrate(db);

    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(db.prepare('SELECT count(*) FROM telemetry').pluck().get()).toBe(3);
    const q = db.prepare(
      'SELECT ts, c FROM readings WHERE locker_id = ? AND sensor = ? AND ts >= ? AND ts <= ? ORDER BY ts',
    );
    expect(q.all('ferme/box-1', 't1', 0, 60_000)).toEqual([
      { ts: 1000, c: 3.5 },
      { ts: 31_000, c: 3.25 },
    ]);
    expect(q.all('ferme/box-2', 't1', 0, 60_000)).toEqual([{ ts: 1000, c: -18.5 }]);
    expect(db.prepare('SELECT count(*) FROM readings').pluck().get()).toBe(4);
    // The search goes through the index on locker and time, not through every message.
    const plan = db
      .prepare(`EXPLAIN QUERY PLAN SELECT ts, c FROM readings WHERE locker_id = ? AND sensor = ? AND ts >= ?`)
      .all('ferme/box-1', 't1', 0) as Array<{ detail: string }>;
    expect(plan.map((p) => p.detail).join(' ')).toMatch(/USING INDEX telemetry_locker/);
    db.close();
  });

  it('prunes whole messages past the retention, oldest first', () => {
    const db = storeAt(MIGRATIONS.length);
    const insert = db.prepare('INSERT INTO telemetry (locker_id, ts, readings) VALUES (?, ?, ?)');
    const day = 86_400_000;
    insert.run('ferme/box-1', 1 * day, '{"t1":3.5,"t2":4}');
    insert.run('ferme/box-1', 5 * day, '{"t1":3.75}');
    expect(pruneReadings(db, 95 * day, { rawDays: 90, aggregateDays: 400 }).raw).toBe(1);
    expect(db.prepare('SELECT ts, sensor, c FROM readings').all()).toEqual([
      { ts: 5 * day, sensor: 't1', c: 3.75 },
    ]);
    db.close();
  });
});
