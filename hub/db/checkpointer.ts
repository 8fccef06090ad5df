import { once } from 'node:events';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Db } from './open.ts';

/**
 * The worker's code, plain CommonJS evaluated in its own thread: the hub's TypeScript loader is
 * registered for the main thread only. It opens its own connection to the store and copies the
 * write-ahead log back into the database every `everyMs` (PASSIVE: it never waits for, nor holds
 * up, the hub's writes). With `synchronous=NORMAL` the checkpoint syncs the log before it copies
 * it and the database before the log can be reused: the two fsyncs a checkpoint costs happen
 * here, not on the hub's event loop.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
db.pragma('synchronous = NORMAL');
let timer;
const checkpoint = (kind) => {
  let busy = true;
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    busy = r.log > workerData.busyPages;
    parentPort.postMessage({ kind, ok: true, log: r.log, checkpointed: r.checkpointed });
  } catch (err) {
    // An Error crosses to the hub's thread whole (message and stack), to be logged as { err }.
    parentPort.postMessage({ kind, ok: false, err });
  }
  return busy;
};
// Every everyMs; every busyMs while the log fills faster (past busyPages at the last one).
const schedule = (busy) => {
  timer = setTimeout(() => schedule(checkpoint('timer')), busy ? workerData.busyMs : workerData.everyMs);
};
schedule(false);
parentPort.on('message', (m) => {
  // 'finish': the hub holds its commits meanwhile, so this one copies everything.
  if (m === 'finish') return void checkpoint('finish');
  clearTimeout(timer);
  checkpoint('stop');
  db.close();
  parentPort.close();
});
`;

/** SQLite's own threshold (pages in the log), used again if the worker is lost. */
const AUTOCHECKPOINT_PAGES = 1000;
interface WorkerReport {
  /** What the checkpoint was for: the worker's rhythm, a finish asked for, the last one. */
  kind: 'timer' | 'finish' | 'stop';
  ok: boolean;
  log: number;
  checkpointed: number;
  /** What the worker caught: an Error arrives with its message and stack (structured clone). */
  err?: unknown;
}

/**
 * How often the worker copies the log back (ms): each copy rewrites every page changed since the
 * last, so a page written several times a second (a readings batch's last page, the database
 * header, a cabinet's sensor states) is written to the disk once for each. Every quarter of a
 * second the hub wrote twice as much to its database file at 200 cabinets; once the log fills
 * past AUTOCHECKPOINT_PAGES between two copies, every BUSY_EVERY_MS, so it stays a few MB.
 */
const EVERY_MS = 1000;
const BUSY_EVERY_MS = 250;
/**
 * Longest the hub's commits wait for a finishing checkpoint (a disk that stalls, a worker stuck):
 * then they go on, the log starting over at a later finish. Device events wait unacknowledged
 * meanwhile; a hold must never be what keeps them so.
 */
const HOLD_AT_MOST_MS = 1000;
/** What the log file is cut back to when it starts over (bytes): it does not keep its peak size. */
const LOG_SIZE_LIMIT = 16 * 1024 * 1024;

export interface CheckpointerOptions {
  /** How often the log is copied back (ms). */
  everyMs?: number;
  /** The SQLite driver the worker loads (tests pass one that fails to load). */
  driver?: string;
  /** Holds the hub's commits until the function it returns is called (`WalSync.hold`). */
  hold?: () => () => void;
  /** Longest the commits stay held for one finishing checkpoint (ms). */
  holdAtMostMs?: number;
}

/**
 * Checkpoints off the event loop. SQLite's automatic checkpoint runs inside whichever commit
 * crosses 1,000 pages of log: on the hub's connection that meant copying up to 4 MB and two
 * fsyncs in the middle of a readings batch or a keypad event's commit. The hub's connection
 * turns it off and a worker thread checkpoints instead; if that worker is lost, the hub's
 * connection checkpoints by itself again, so the log never grows without bound.
 *
 * The log only starts over from its beginning when a write finds every frame in it copied back,
 * and a checkpoint from another thread copies what was there when it began: under a steady
 * stream of commits (device events, a fleet's readings) the hub has always written more by the
 * time it ends, so the log grew for ever (1.3 GB in 15 s of the events benchmark) and each sync
 * extended the file. So once the worker reports a log past AUTOCHECKPOINT_PAGES, the hub holds its
 * commits (`hold`: device events and readings wait in memory, the event loop goes on) while the
 * worker copies what it left (the frames written during its last copy: a small part, 1-4 ms
 * here); nothing is written meanwhile, so everything is copied and the next commit starts the
 * log over, which is then cut back to LOG_SIZE_LIMIT. (The hub's connection did that copy
 * itself at first, with its two fsyncs on the event loop: on a busy or slow disk, a stall.) A
 * write outside the held commits (an API call) can spoil one finish; the next one follows.
 */
export class Checkpointer {
  readonly #worker: Worker;
  #closing = false;
  #exited = false;
  /** Checkpoints run; pages in the log at the last one, how many of them it left uncopied; failures. */
  runs = 0;
  walPages = 0;
  behind = 0;
  failures = 0;
  /** Checkpoints finished with the commits held that copied everything: the log could start over. */
  finished = 0;
  /** Releases the commits held for a finishing checkpoint; set while one runs. */
  #release: (() => void) | undefined;

  constructor(
    private readonly db: Db,
    log: Logger,
    opts: CheckpointerOptions = {},
  ) {
    db.pragma('wal_autocheckpoint = 0');
    db.pragma(`journal_size_limit = ${LOG_SIZE_LIMIT}`);
    const everyMs = opts.everyMs ?? EVERY_MS;
    const driver = opts.driver ?? createRequire(import.meta.url).resolve('better-sqlite3');
    this.#worker = new Worker(WORKER, {
      eval: true,
      workerData: {
        file: db.name,
        driver,
        everyMs,
        busyMs: Math.min(everyMs, BUSY_EVERY_MS),
        busyPages: AUTOCHECKPOINT_PAGES,
      },
    });
    this.#worker.unref();
    const hold = opts.hold ?? (() => () => {});
    const holdAtMost = opts.holdAtMostMs ?? HOLD_AT_MOST_MS;
    this.#worker.on('message', (m: WorkerReport) => {
      this.runs++;
      if (m.kind === 'finish') {
        this.#release?.();
        this.#release = undefined;
        if (m.ok && m.log === m.checkpointed) this.finished++;
      }
      if (m.ok) {
        this.walPages = m.log;
        this.behind = m.log - m.checkpointed;
        if (m.kind === 'timer' && m.log > AUTOCHECKPOINT_PAGES && !this.#closing && !this.#release) {
          const release = hold();
          const timer = setTimeout(() => {
            log.warn({ ms: holdAtMost }, 'checkpoint still finishing; the commits held for it go on');
            this.#release?.();
            this.#release = undefined;
          }, holdAtMost);
          timer.unref();
          this.#release = () => {
            clearTimeout(timer);
            release();
          };
          this.#worker.postMessage('finish');
        }
      } else {
        this.failures++;
        log.warn({ err: m.err }, 'checkpoint failed; the next one tries again');
      }
    });
    this.#worker.on('error', (err) => log.error({ err }, 'checkpoint worker failed'));
    this.#worker.on('exit', () => {
      this.#exited = true;
      this.#release?.();
      this.#release = undefined;
      if (this.#closing) return;
      log.error('checkpoint worker gone; the hub checkpoints on its own connection again');
      this.db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
    });
  }

  /** Checkpoints one last time and lets the worker go (before the hub's connection closes). */
  async close(): Promise<void> {
    if (this.#closing || this.#exited) return;
    this.#closing = true;
    const exited = once(this.#worker, 'exit');
    this.#worker.postMessage('stop');
    const timer = setTimeout(() => void this.#worker.terminate(), 5000);
    await exited;
    clearTimeout(timer);
  }
}
