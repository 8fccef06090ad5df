import { closeSync, fdatasync, openSync, statSync } from 'node:fs';
import type { Db } from './open.ts';

type Done = (err: Error | null) => void;
export type SyncFile = (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void;

/**
 * Durability without holding the event loop. The hub's own connection commits with
 * `synchronous=NORMAL`: a commit writes its pages to the write-ahead log and returns without
 * waiting for the disk. Whatever the hub promises someone else about a commit (an `events/ack`, a
 * command that follows from an event, the answer to an API write) waits for `after()`: it calls
 * back once an fdatasync of the log that *started after the commit* has returned. That sync runs
 * in libuv's thread pool while the hub goes on receiving, and one sync covers everything committed
 * before it started: the group commit comes for free, however long the disk takes.
 *
 * Checkpoints stay safe: with `synchronous=NORMAL` SQLite syncs the log before it copies it into
 * the database and syncs the database before it reuses the log, so a frame this class has not
 * synced yet is never the only copy of something it already vouched for.
 */
export class WalSync {
  readonly #path: string;
  readonly #sync: SyncFile;
  #fd = -1;
  #ino = -1;
  #inFlight = false;
  /** Someone waits for the sync in flight (not only the background timer): commits hold. */
  #awaited = false;
  #waiting: Done[] = [];
  #awaiting = 0;
  #urgent: Array<() => void> = [];
  #later: Array<() => void> = [];
  #scheduled = false;
  /** Holds in force (`hold`): commits wait. */
  #holds = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Syncs that failed (the disk said no): what they covered was not acknowledged. */
  failures = 0;
  syncs = 0;
  /** Told how long each sync took, in seconds (the hub feeds its histogram). */
  timed: (seconds: number) => void = () => {};

  /** `dbFile` is the store's path; `sync` stands in for fdatasync in tests. */
  constructor(dbFile: string, sync: SyncFile = fdatasync) {
    this.#path = dbFile;
    this.#sync = sync;
  }

  /** Switches the connection to commits that do not wait for the disk; `after()` does that. */
  attach(db: Db): this {
    db.pragma('synchronous = NORMAL');
    return this;
  }

  /**
   * Syncs in the background every `ms` when something was committed meanwhile, so what nobody
   * waits for (readings, state reports, the hub's own sweeps) is on disk within about that long.
   */
  /** Rounds of `keepUp` so far: a test knows the loop looked, not only that time passed. */
  keptUp = 0;

  keepUp(db: Db, ms: number): this {
    const changes = db.prepare<[], number>('SELECT total_changes()').pluck();
    let seen = changes.get() as number;
    this.#timer = setInterval(() => {
      this.keptUp++;
      const now = changes.get() as number;
      if (now === seen) return;
      seen = now;
      this.after(() => {}, true);
    }, ms);
    this.#timer.unref();
    return this;
  }

  /**
   * Runs `commit` in the next turn of the event loop, unless someone waits for a sync: then as
   * soon as it returns. What arrives during such a sync is thus committed in one transaction and
   * synced once, and nothing is written meanwhile, which keeps that sync short (the background
   * syncs of `keepUp` hold nothing). Urgent commits (device events: a customer waits at the
   * door) run before the others (readings); a commit that awaits a sync holds the rest.
   */
  commitSoon(commit: () => void, urgent = false): void {
    (urgent ? this.#urgent : this.#later).push(commit);
    this.#schedule();
  }

  /**
   * Holds the queued commits (not the syncs, nor the event loop) until the returned function is
   * called: the checkpoint that lets the log start over needs a moment without a commit.
   */
  hold(): () => void {
    this.#holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#holds--;
      this.#schedule();
    };
  }

  #schedule(): void {
    if (this.#awaited || this.#holds > 0 || this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#runCommits();
    });
  }

  /** Runs the commits queued so far (those they queue wait for the next turn). */
  #runCommits(): void {
    if (this.#awaited || this.#holds > 0) return;
    const urgent = this.#urgent.splice(0);
    const later = this.#later.splice(0);
    while (!this.#awaited && this.#holds === 0) {
      // Readings wait while someone waits for a sync: they would only lengthen it.
      const commit = urgent.shift() ?? (this.#awaiting > 0 ? undefined : later.shift());
      if (!commit) break;
      commit();
    }
    this.#urgent.unshift(...urgent);
    this.#later.unshift(...later);
    if (!this.#inFlight && this.#waiting.length) this.#start();
    if (this.#urgent.length + this.#later.length > 0) this.#schedule();
  }

  /** Calls `done` once everything committed before this call is on disk (or the sync failed). */
  after(done: Done, background = false): void {
    this.#waiting.push(done);
    if (!background) this.#awaiting++;
    if (!this.#inFlight) this.#start();
  }

  durable(): Promise<void> {
    return new Promise((resolve, reject) => this.after((err) => (err ? reject(err) : resolve())));
  }

  /** Syncs one last time, then lets go of the log's descriptor. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.durable().catch(() => {});
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
  }

  #start(): void {
    const batch = this.#waiting;
    this.#waiting = [];
    const awaited = this.#awaiting > 0;
    this.#awaiting = 0;
    let fd: number;
    try {
      fd = this.#descriptor();
    } catch (err) {
      this.#finish(batch, err as Error);
      return;
    }
    this.#inFlight = true;
    this.#awaited = awaited;
    const started = performance.now();
    this.#sync(fd, (err) => {
      this.timed((performance.now() - started) / 1000);
      this.#inFlight = false;
      this.#awaited = false;
      this.#finish(batch, err);
      // What the callbacks sent (an unlock, acknowledgements) reaches its sockets before the
      // queued commits run, in the next turn of the event loop; a sync awaited meanwhile starts
      // after them, and covers them too.
      if (this.#urgent.length + this.#later.length > 0) this.#schedule();
      else if (this.#waiting.length) this.#start();
    });
  }

  #finish(batch: Done[], err: Error | null): void {
    this.syncs++;
    if (err) this.failures++;
    for (const done of batch) done(err);
  }

  /**
   * The log's descriptor, opened again if the file was replaced (SQLite deletes the log when the
   * last connection closes; another process may have reopened the store meanwhile). With no log
   * at all, everything committed is in the database file itself: that is what gets synced.
   */
  #descriptor(): number {
    let path = `${this.#path}-wal`;
    let ino: number;
    try {
      ino = statSync(path).ino;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      path = this.#path;
      ino = statSync(path).ino;
    }
    if (ino !== this.#ino || this.#fd < 0) {
      if (this.#fd >= 0) closeSync(this.#fd);
      this.#fd = -1;
      this.#fd = openSync(path, 'r');
      this.#ino = ino;
    }
    return this.#fd;
  }
}
