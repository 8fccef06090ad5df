/**
 * Keypad brute-force brakes (docs/security.md §1 states the bound they give). A brake counts wrong
 * codes as a score that decays with time (one failure forgiven per `decayMs`); past `free`
 * failures each further one locks the keypad for a delay that doubles from `baseMs` up to
 * `maxMs`. A valid code does not reset it: only its first use forgives the few mistypes just before
 * it (`FORGIVEN_BY_A_CODE`), so an attacker holding one code, or a code whose door never opened
 * and so opens again, cannot wipe the count between guesses.
 *
 * The hub brakes each cabinet and each site (both must be free for a code to be tried); the bridge,
 * deciding alone while the hub is away, brakes its cabinet with the offline policy and keeps the
 * brake on disk. The arithmetic is pure (`lockedFor`, `afterFailure`, `afterSuccess`) so both keep
 * their brakes where they like, under one policy.
 */
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export interface BrakePolicy {
  /** Failures that cost nothing (people mistype). */
  free: number;
  baseMs: number;
  maxMs: number;
  /** One failure is forgiven per this much time. */
  decayMs: number;
}

/** A cabinet's keypad: mistypes forgiven within the hour, an attacker slowed to one try per 15 min. */
export const CABINET_BRAKE: BrakePolicy = Object.freeze({
  free: 5,
  baseMs: 30_000,
  maxMs: 15 * MINUTE,
  decayMs: 10 * MINUTE,
});
/**
 * A site's keypads together: what bounds an attacker going from cabinet to cabinet, at two tries
 * a day once past the free ones (the decay and the longest lockout are both 12 h).
 */
export const SITE_BRAKE: BrakePolicy = Object.freeze({
  free: 20,
  baseMs: MINUTE,
  maxMs: 12 * HOUR,
  decayMs: 12 * HOUR,
});
/**
 * A cabinet deciding without the hub (its link cut, perhaps on purpose): one try every two days
 * once past the free ones. Only the codes of that cabinet's offline table can open.
 */
export const OFFLINE_BRAKE: BrakePolicy = Object.freeze({
  free: 5,
  baseMs: MINUTE,
  maxMs: 48 * HOUR,
  decayMs: 48 * HOUR,
});
/** The failures the first use of a valid code forgives: the mistypes of the person who holds it. */
export const FORGIVEN_BY_A_CODE = 3;

/** The cabinet policy's figures, as older callers name them. */
export const FREE_FAILURES = CABINET_BRAKE.free;
export const BASE_MS = CABINET_BRAKE.baseMs;
export const MAX_MS = CABINET_BRAKE.maxMs;

/** One brake: its failure score as of `at`, and until when the keypad is locked. */
export interface Brake {
  failures: number;
  at: number;
  blockedUntil: number;
}

/** The failure score at `now`, the decay since the last change taken off. */
export function score(brake: Brake | undefined, now: number, policy: BrakePolicy = CABINET_BRAKE): number {
  if (!brake) return 0;
  return Math.max(0, brake.failures - Math.max(0, now - brake.at) / policy.decayMs);
}

/** Milliseconds a keypad with this brake (none: never failed) is still locked for. */
export function lockedFor(brake: Brake | undefined, now: number): number {
  return brake ? Math.max(0, brake.blockedUntil - now) : 0;
}

/** The brake after one more wrong code, and the lockout that code starts (0 while still free). */
export function afterFailure(
  brake: Brake | undefined,
  now: number,
  policy: BrakePolicy = CABINET_BRAKE,
): { brake: Brake; wait: number } {
  const failures = score(brake, now, policy) + 1;
  const over = Math.ceil(failures - 1e-9) - policy.free;
  const wait = over > 0 ? Math.min(policy.maxMs, policy.baseMs * 2 ** (over - 1)) : 0;
  return { brake: { failures, at: now, blockedUntil: Math.max(brake?.blockedUntil ?? 0, now + wait) }, wait };
}

/**
 * The brake after a valid code: the first use of a code forgives up to `forgive` failures; a
 * lockout under way stays. Undefined once nothing is left to remember.
 */
export function afterSuccess(
  brake: Brake | undefined,
  now: number,
  forgive: number,
  policy: BrakePolicy = CABINET_BRAKE,
): Brake | undefined {
  if (!brake) return undefined;
  const failures = Math.max(0, score(brake, now, policy) - forgive);
  if (failures === 0 && lockedFor(brake, now) === 0) return undefined;
  return { failures, at: now, blockedUntil: brake.blockedUntil };
}

/** Where a bridge keeps its brakes across restarts (its outbox). */
export interface BrakeStore {
  load(key: string): Brake | undefined;
  save(key: string, brake: Brake | undefined): void;
}

/** The brakes of keypads checked without the hub (the bridge offline), kept in `store`. */
export class KeypadThrottle {
  readonly #memory = new Map<string, Brake>();

  constructor(
    private readonly policy: BrakePolicy = OFFLINE_BRAKE,
    private readonly store: BrakeStore = {
      load: (key) => this.#memory.get(key),
      save: (key, brake) => (brake ? this.#memory.set(key, brake) : this.#memory.delete(key)),
    },
  ) {}

  /** Milliseconds the keypad of this locker is still locked for. */
  blockedFor(key: string, now: number): number {
    return lockedFor(this.store.load(key), now);
  }

  /** Records a failure; returns the lockout it starts (0 while failures are still free). */
  fail(key: string, now: number): number {
    const { brake, wait } = afterFailure(this.store.load(key), now, this.policy);
    this.store.save(key, brake);
    return wait;
  }

  /** A valid code's first use: forgives the mistypes just before it, not more. */
  succeed(key: string, now: number): void {
    this.store.save(key, afterSuccess(this.store.load(key), now, FORGIVEN_BY_A_CODE, this.policy));
  }
}
