/**
 * The hub under soak: the real `casier hub` in a child process (test/helpers/process.ts), killed
 * with SIGKILL and started again on the same ports and store; its output kept in a log file per
 * start. And the HTTP API as an ordering platform sees it: an answer, or nothing (the hub is down).
 */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { type HubProcess, spawnHub } from '../helpers/process.ts';

export class SoakHub {
  #current: HubProcess | undefined;
  starts = 0;
  /** Milliseconds from each kill to the restarted hub's "hub started". */
  readonly downtimes: number[] = [];
  /** When each run of the hub began (its "hub started") and ended (killed or stopped). */
  readonly runs: Array<{ from: number; to?: number }> = [];

  constructor(
    private readonly args: string[],
    private readonly logDir: string,
    readonly httpPort: number,
  ) {}

  get pid(): number | undefined {
    return this.#current?.child.pid;
  }

  get up(): boolean {
    const c = this.#current?.child;
    return !!c && c.exitCode === null && c.signalCode === null;
  }

  async start(): Promise<void> {
    this.starts++;
    const log = createWriteStream(join(this.logDir, `hub-${String(this.starts).padStart(3, '0')}.log`));
    const hub = await spawnHub(this.args);
    hub.child.stdout?.pipe(log);
    hub.child.stderr?.pipe(log);
    this.#current = hub;
    const run: { from: number; to?: number } = { from: Date.now() };
    this.runs.push(run);
    hub.child.once('exit', () => {
      run.to = Date.now();
    });
  }

  /** SIGKILL: no shutdown, no flush; whatever was committed is all there is. */
  async kill(): Promise<void> {
    await this.#signal('SIGKILL');
  }

  async restartAfterKill(): Promise<void> {
    const t0 = Date.now();
    await this.kill();
    await this.start();
    this.downtimes.push(Date.now() - t0);
  }

  /** SIGTERM, the way an operator stops it (SIGKILL after 15 s). */
  async stop(): Promise<void> {
    await this.#signal('SIGTERM', 15_000);
  }

  /** Whether one run of the hub covered the whole of [from, to]. */
  upThroughout(from: number, to: number): boolean {
    return this.runs.some((r) => r.from <= from && (r.to ?? Number.POSITIVE_INFINITY) >= to);
  }

  async #signal(signal: NodeJS.Signals, escalateMs?: number): Promise<void> {
    const child = this.#current?.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    const timer = escalateMs ? setTimeout(() => child.kill('SIGKILL'), escalateMs) : undefined;
    await exited;
    clearTimeout(timer);
  }
}

// biome-ignore lint/suspicious/noExplicitAny: the soak reads API answers field by field
export type Json = any;

/** One API call; `null` when nothing answered (the hub is down, or died during the call). */
export async function api(
  port: number,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Json } | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  } catch {
    return null;
  }
}
