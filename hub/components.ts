/**
 * The hub's periodic work as components (zigbee2mqtt's extensions are the model): each has a name,
 * an optional `start`/`stop`, and a `tick(now)` that does one round of its work at the time it is
 * given. The service starts them in order and stops them in reverse; with its own timers, each
 * ticks on its period, and a test that keeps the clock calls `tick` instead of waiting.
 */
import type { Logger } from 'pino';

export interface Component {
  readonly name: string;
  /** How often `tick` runs when the hub keeps time itself (ms). */
  readonly everyMs?: number;
  start?(): void;
  stop?(): void | Promise<void>;
  tick?(now: number): void | Promise<void>;
}

export class Components {
  readonly #started: Component[] = [];
  readonly #timers: NodeJS.Timeout[] = [];
  #stopped = false;

  constructor(
    private readonly list: Component[],
    private readonly now: () => number,
    private readonly log: Logger,
    /** Only `tick()` runs them: the caller keeps time (tests). */
    private readonly manual = false,
  ) {}

  start(): void {
    for (const c of this.list) {
      c.start?.();
      this.#started.push(c);
      if (this.manual || !c.tick || !c.everyMs) continue;
      const timer = setInterval(() => void this.#run(c, this.now()), c.everyMs);
      timer.unref();
      this.#timers.push(timer);
    }
  }

  /**
   * One round of every started component at `now` (the hub's clock by default), in start order;
   * resolves when each has finished, what it started asynchronously included. A component that
   * fails is logged and the others still run.
   */
  async tick(now = this.now()): Promise<void> {
    if (this.#stopped) throw new Error('the hub is stopped');
    const pending: Array<Promise<void>> = [];
    for (const c of this.#started) pending.push(this.#run(c, now));
    await Promise.all(pending);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers.splice(0)) clearInterval(t);
    // A round under way (a webhook being sent) finishes before anything it uses is closed.
    await Promise.all(this.#running);
    for (const c of this.#started.splice(0).reverse()) {
      try {
        await c.stop?.();
      } catch (err) {
        this.log.error({ err, component: c.name }, 'stopping a component failed');
      }
    }
  }

  /** Rounds started and not yet finished. */
  readonly #running = new Set<Promise<void>>();

  #run(c: Component, now: number): Promise<void> {
    const round = (async () => {
      try {
        await c.tick?.(now);
      } catch (err) {
        this.log.error({ err, component: c.name }, 'periodic work failed');
      }
    })();
    this.#running.add(round);
    void round.finally(() => this.#running.delete(round));
    return round;
  }
}
