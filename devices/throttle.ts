/**
 * Keypad brute-force brake, per locker (the hub online, the bridge offline). The first FREE_FAILURES wrong codes in a row cost
 * nothing (people mistype); each further one locks the keypad for a delay that doubles from
 * BASE_MS up to MAX_MS. A valid code resets the count. At the steady state an attacker gets one
 * guess per MAX_MS (15 min): 96 guesses a day, so against 16 live 8-digit codes the expected
 * time to hit one is 10^8 / (16 × 96) ≈ 65,000 days. docs/protocol.md §4 states the bound.
 */
export const FREE_FAILURES = 5;
export const BASE_MS = 30_000;
export const MAX_MS = 15 * 60_000;

interface State {
  failures: number;
  blockedUntil: number;
}

export class KeypadThrottle {
  readonly #byLocker = new Map<string, State>();

  /** Milliseconds the keypad of this locker is still locked for. */
  blockedFor(lockerId: string, now: number): number {
    const s = this.#byLocker.get(lockerId);
    return s ? Math.max(0, s.blockedUntil - now) : 0;
  }

  /** Records a failure; returns the lockout it starts (0 while failures are still free). */
  fail(lockerId: string, now: number): number {
    const s = this.#byLocker.get(lockerId) ?? { failures: 0, blockedUntil: 0 };
    s.failures++;
    const over = s.failures - FREE_FAILURES;
    const wait = over > 0 ? Math.min(MAX_MS, BASE_MS * 2 ** (over - 1)) : 0;
    s.blockedUntil = Math.max(s.blockedUntil, now + wait);
    this.#byLocker.set(lockerId, s);
    return wait;
  }

  succeed(lockerId: string): void {
    this.#byLocker.delete(lockerId);
  }
}
