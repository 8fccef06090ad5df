import { fdatasync, fstatSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../hub/db/open.ts';
import { type SyncFile, WalSync } from '../../hub/db/wal-sync.ts';
import { eventually } from '../helpers/hub.ts';

let dir: string;
let db: Db;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'casier-walsync-'));
  db = openDb(dir);
  db.exec('CREATE TABLE t (n INTEGER)');
});
afterEach(() => {
  if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A disk whose syncs return only when the test says so. */
function heldDisk() {
  const pending: Array<{ fd: number; done: (err: NodeJS.ErrnoException | null) => void }> = [];
  const sync: SyncFile = (fd, done) => pending.push({ fd, done });
  return {
    sync,
    pending,
    /** Returns the oldest sync in flight. */
    finish(err: NodeJS.ErrnoException | null = null) {
      const s = pending.shift();
      if (!s) throw new Error('no sync in flight');
      s.done(err);
    },
  };
}

const insert = (n: number) => db.prepare('INSERT INTO t VALUES (?)').run(n);
const tick = () => new Promise((r) => setImmediate(r));

describe('WalSync', () => {
  it('calls back only after a sync that started after the call, one sync for all that waited', () => {
    const disk = heldDisk();
    const w = new WalSync(db.name, disk.sync).attach(db);
    expect(db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    const calls: string[] = [];
    insert(1);
    w.after(() => calls.push('a'));
    expect(disk.pending).toHaveLength(1);
    // Committed while the first sync runs: that sync may not cover it.
    insert(2);
    w.after(() => calls.push('b'));
    w.after(() => calls.push('c'));
    expect(disk.pending).toHaveLength(1);
    disk.finish();
    expect(calls).toEqual(['a']);
    expect(disk.pending).toHaveLength(1); // one more sync, for both b and c
    disk.finish();
    expect(calls).toEqual(['a', 'b', 'c']);
    expect(disk.pending).toHaveLength(0);
    expect(w.syncs).toBe(2);
  });

  it('holds commits while the disk is busy, urgent ones first; a commit that syncs holds the rest', async () => {
    const disk = heldDisk();
    const w = new WalSync(db.name, disk.sync).attach(db);
    const order: string[] = [];
    w.commitSoon(() => order.push('first'));
    expect(order).toEqual([]); // not in the caller's turn
    await tick();
    expect(order).toEqual(['first']);
    w.after(() => order.push('first synced'));
    w.commitSoon(() => order.push('readings'));
    w.commitSoon(() => {
      order.push('event');
      w.after(() => order.push('event synced'));
    }, true);
    await tick();
    expect(order).toEqual(['first']); // the disk is busy
    disk.finish();
    expect(order).toEqual(['first', 'first synced']); // what that sync let out goes first
    await tick();
    // The event goes before the readings queued ahead of it, and its sync holds them back.
    expect(order).toEqual(['first', 'first synced', 'event']);
    expect(disk.pending).toHaveLength(1);
    disk.finish();
    await tick();
    expect(order).toEqual(['first', 'first synced', 'event', 'event synced', 'readings']);
    expect(disk.pending).toHaveLength(0);
  });

  it('holds no commit for a background sync, and readings for a sync someone awaits', async () => {
    const disk = heldDisk();
    const w = new WalSync(db.name, disk.sync).attach(db);
    const order: string[] = [];
    w.after(() => order.push('background synced'), true);
    w.commitSoon(() => order.push('readings 1'));
    await tick();
    expect(order).toEqual(['readings 1']); // the background sync in flight held nothing
    w.commitSoon(() => {
      order.push('event');
      w.after(() => order.push('event synced'));
    }, true);
    w.commitSoon(() => order.push('readings 2'));
    await tick();
    expect(order).toEqual(['readings 1', 'event']); // someone awaits a sync now
    disk.finish(); // the background one
    await tick();
    expect(order).toEqual(['readings 1', 'event', 'background synced']);
    expect(disk.pending).toHaveLength(1); // the event's
    disk.finish();
    await tick();
    expect(order).toEqual(['readings 1', 'event', 'background synced', 'event synced', 'readings 2']);
  });

  it('holds queued commits, not syncs, until every hold is released', async () => {
    const disk = heldDisk();
    const w = new WalSync(db.name, disk.sync).attach(db);
    const order: string[] = [];
    const release = w.hold();
    const other = w.hold();
    w.commitSoon(() => order.push('event'), true);
    w.commitSoon(() => order.push('readings'));
    let synced = false;
    w.after(() => {
      synced = true;
    });
    disk.finish();
    await tick();
    expect(synced).toBe(true);
    expect(order).toEqual([]);
    release();
    release(); // twice is once
    await tick();
    expect(order).toEqual([]);
    other();
    await tick();
    expect(order).toEqual(['event', 'readings']);
  });

  it('passes a failed sync on to everyone it covered, and counts it', () => {
    const disk = heldDisk();
    const w = new WalSync(db.name, disk.sync).attach(db);
    const seen: Array<string | null> = [];
    // A first sync in flight; two callers wait for the next one.
    w.after((err) => seen.push(err?.message ?? null));
    w.after((err) => seen.push(err?.message ?? null));
    w.after((err) => seen.push(err?.message ?? null));
    disk.finish();
    disk.finish(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    expect(seen).toEqual([null, 'EIO: i/o error, fdatasync', 'EIO: i/o error, fdatasync']);
    expect(w.failures).toBe(1);
    // The next one is tried again.
    w.after((err) => seen.push(err?.message ?? null));
    disk.finish();
    expect(seen.at(-1)).toBeNull();
  });

  it('syncs the log file of the store, and the new one when the log was replaced', async () => {
    const inodes: number[] = [];
    const real = new WalSync(db.name, (fd, done) => {
      inodes.push(fstatSync(fd).ino);
      fdatasync(fd, done);
    }).attach(db);
    insert(1);
    await real.durable();
    expect(inodes[0]).toBe(statSync(`${db.name}-wal`).ino);
    // The last connection closing deletes the log; the next one starts a new file (a new inode:
    // the old one lives on as long as the descriptor is open).
    db.close();
    db = openDb(dir);
    real.attach(db);
    insert(2);
    await real.durable();
    expect(inodes[1]).toBe(statSync(`${db.name}-wal`).ino);
    expect(inodes[1]).not.toBe(inodes[0]);
    await real.close();
    expect(real.failures).toBe(0);
  });

  it('syncs in the background only when something was committed', async () => {
    const syncs: number[] = [];
    const w = new WalSync(db.name, (_fd, done) => {
      syncs.push(Date.now());
      setImmediate(() => done(null));
    })
      .attach(db)
      .keepUp(db, 20);
    // Three rounds that looked and found nothing committed: no sync.
    await eventually(() => w.keptUp >= 3);
    expect(syncs).toHaveLength(0);
    insert(1);
    await eventually(() => syncs.length === 1);
    const seen = w.keptUp;
    await eventually(() => w.keptUp >= seen + 3); // and none more for the same commit
    expect(syncs).toHaveLength(1);
    await w.close();
  });
});
