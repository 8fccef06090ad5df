/**
 * Computes the slow hash under which each live code appears in its cabinet's offline table
 * (docs/protocol.md §3.2): scrypt of the keyed HMAC the code was stored with, so the request that
 * created the code never waits for it. Until its hash is ready a code is checked online only; the
 * code-table publisher leaves it out, and the update of `offline_hash` makes the table go again.
 * Codes of a store from before these hashes (format 1) are stretched the same way, after a start.
 */
import type { Logger } from 'pino';
import { type OfflineCost, offlineStretch } from '../devices/index.ts';
import type { Component } from './components.ts';
import type { Codes } from './domain/codes.ts';

/**
 * Hashes in flight at once. One: a scrypt is 120 ms of a core and 32 MiB, and the hub's requests
 * and devices come first. With two, parcels were created 0.42 times as fast as with none during a
 * burst on two cores; with one, 0.54 times (the backlog then drains at about 8 codes a second).
 */
const LANES = 1;
/**
 * A round stops taking new batches after this long, the rest waiting for the next tick: the hub's
 * stop waits for rounds under way, and must not wait for a backlog of thousands.
 */
const ROUND_MS = 1000;

export class OfflineHashes implements Component {
  readonly name = 'offline-hashes';
  readonly everyMs = 100;
  #round: Promise<void> | undefined;

  constructor(
    private readonly codes: Codes,
    private readonly cost: OfflineCost,
    private readonly log: Logger,
    /** Some hashes are stored: their tables may go now rather than at the publisher's next tick. */
    private readonly stored: () => void,
  ) {}

  /** Hashes the codes due, a few at a time; a tick arriving meanwhile joins the round under way. */
  tick(): Promise<void> {
    this.#round ??= this.#hashAll().finally(() => {
      this.#round = undefined;
    });
    return this.#round;
  }

  async #hashAll(): Promise<void> {
    const until = performance.now() + ROUND_MS;
    while (performance.now() < until) {
      const due = this.codes.offlineDue(LANES);
      if (due.length === 0) return;
      const hashes = await Promise.all(due.map((c) => offlineStretch(c.mac, c.lockerId, this.cost))).catch(
        (err: unknown) => {
          this.log.error({ err, codes: due.map((c) => c.id) }, 'offline hashes failed');
          return undefined;
        },
      );
      if (!hashes) return;
      for (const [i, c] of due.entries()) this.codes.setOfflineHash(c.id, c.mac, hashes[i] as string);
      this.stored();
    }
  }
}
