/**
 * Keypad brute-force brake, per locker (the hub online, the bridge offline). The first FREE_FAILURES wrong codes in a row cost
 * nothing (people mistype); each further one locks the keypad for a delay that doubles from
 * BASE_MS up to MAX_MS. A valid code resets the count. At the steady state an attacker gets one
 * guess per MAX_MS (15 min): 96 guesses a day, so against 16 live 8-digit codes the expected
 * time to hit one is 10^8 / (16 × 96) ≈ 65,000 days. docs/protocol.md §3.1 states the bound.
 *
 * The arithmetic is pure (`lockedFor`, `afterFailure`) so that the hub keeps its brakes in its
 * store and the bridge in memory (`KeypadThrottle`), under one policy.
 */
export const FREE_FAILURES = 5;
export const BASE_MS = 30_000;
export const MAX_MS = 15 * 60_000;

/** One keypad's brake: wrong codes in a row, and until when the keypad is locked. */
export interface Brake {
  failures: number;
  blockedUntil: number;
}

/** Milliseconds a keypad with this brake (none: never failed) is still locked for. */
export function lockedFor(brake: Brake | undefined, now: number): number {
  return brake ? Math.max(0, brake.blockedUntil - now) : 0;
}

/** The brake after one more wrong code, and the lockout that code starts (0 while still free). */
export function afterFailure(brake: Brake | undefined, now: number): { brake: Brake; wait: number } {
  const failures = (brake?.failures ?? 0) + 1;
  const over = failures - FREE_FAILURES;
  const wait = over > 0 ? Math.min(MAX_MS, BASE_MS * 2 ** (over - 1)) : 0;
  return { brake: { failures, blockedUntil: Math.max(brake?.blockedUntil ?? 0, now + wait) }, wait };
}

/** The brakes of keypads checked without the hub (the bridge offline): in memory. */
export class KeypadThrottle {
  readonly #byLocker = new Map<string, Brake>();

  /** Milliseconds the keypad of this locker is still locked for. */
  blockedFor(lockerId: string, now: number): number {
    return lockedFor(this.#byLocker.get(lockerId), now);
  }

  /** Records a failure; returns the lockout it starts (0 while failures are still free). */
  fail(lockerId: string, now: number): number {
    const { brake, wait } = afterFailure(this.#byLocker.get(lockerId), now);
    this.#byLocker.set(lockerId, brake);
    return wait;
  }

  succeed(lockerId: string): void {
    this.#byLocker.delete(lockerId);
  }
}
