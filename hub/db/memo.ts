/**
 * Answers kept until the store changes at all: a write on this connection (`total_changes()`)
 * or a commit by another process, such as the command line (`PRAGMA data_version`). Reads that
 * repeat between writes then cost two counter reads instead of their query. Never inside a
 * transaction, whose writes may yet be rolled back.
 */
import type { Db } from './open.ts';

export class StoreMemo<T> {
  readonly #entries = new Map<string, { version: string; value: T }>();
  readonly #changes;
  readonly #dataVersion;

  constructor(
    private readonly db: Db,
    /** Entries kept at most; the oldest go first. */
    private readonly max = 10_000,
  ) {
    this.#changes = db.prepare<[], number>('SELECT total_changes()').pluck();
    this.#dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
  }

  get(key: string, compute: () => T): T {
    if (this.db.inTransaction) return compute();
    const version = `${this.#changes.get()}/${this.#dataVersion.get()}`;
    const hit = this.#entries.get(key);
    if (hit?.version === version) return hit.value;
    const value = compute();
    this.#entries.delete(key);
    this.#entries.set(key, { version, value });
    if (this.#entries.size > this.max) this.#entries.delete(this.#entries.keys().next().value as string);
    return value;
  }
}
