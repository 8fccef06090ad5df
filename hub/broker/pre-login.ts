/**
 * Bounds on MQTT connections that have not logged in yet (docs/security.md §8). A stranger costs
 * the hub a socket, aedes' client and up to one CONNECT (PRE_LOGIN_MAX_BYTES, packet-cap.ts) for
 * at most the broker's connect timeout; these bounds keep how many strangers there are at once,
 * how fast one address may open connections that never log in and how often it may fail a login,
 * so a flood of them neither fills the hub's memory nor its log.
 *
 * Everything is per address, and an address may be a NAT or a proxy in front of many cabinets:
 * a cabinet that has logged in is never counted nor cut here, and a connection that logs in gives
 * back what it took. IPv6 addresses count by /64 (what one subscriber gets), so one host cannot
 * spread itself over 2^64 addresses. Pure: time is an argument, the sockets are embedded.ts's.
 */
import { isIPv4 } from 'node:net';
import { afterFailure, type Brake, type BrakePolicy, lockedFor, score } from '../../devices/throttle.ts';

export interface PreLoginLimits {
  /** Connections not logged in from one address at once. */
  perAddress: number;
  /** Connections not logged in at once, all addresses. */
  total: number;
  /** Connections an address may open at once that then do not log in (tokens of a bucket)… */
  connectBurst: number;
  /** …and how many more a second. */
  connectsPerSecond: number;
  /** Failed logins of one address: free ones, then a ban doubling from `baseMs`. */
  loginBrake: BrakePolicy;
  /** Addresses remembered (brakes, buckets, log times); past it the least recently seen is dropped. */
  addresses: number;
  /** One log line per address this often at most; the rest summed up once a period. */
  logEveryMs: number;
  /** And this many lines a period in all: an attacker with many addresses gets no more. */
  logLines: number;
}

export const DEFAULT_PRE_LOGIN_LIMITS: PreLoginLimits = Object.freeze({
  // A cabinet's CONNECT is answered within a round trip: a NAT of a whole site rarely has more
  // than one or two of its cabinets at that stage at once, and one refused retries.
  perAddress: 16,
  // × 8 KiB of CONNECT at most each: 8 MiB of packets before login, whatever the addresses.
  total: 1024,
  connectBurst: 100,
  connectsPerSecond: 10,
  // 10 failures in a burst, then one a minute forgiven; the ban doubles from 10 s, so an address
  // retrying as soon as it may settles at about one failure a minute (bans of 40-80 s).
  loginBrake: { free: 10, baseMs: 10_000, maxMs: 15 * 60_000, decayMs: 60_000 },
  addresses: 4096,
  logEveryMs: 60_000,
  logLines: 60,
});

/** What an installer may change, as `casier hub --mqtt-pre-login name=value,…` names them. */
export const PRE_LOGIN_KEYS = [
  'perAddress',
  'total',
  'connectBurst',
  'connectsPerSecond',
] as const satisfies ReadonlyArray<keyof PreLoginLimits>;

export type Refusal = 'banned' | 'connect_rate' | 'address_pending' | 'pending_full';

interface AddressState {
  brake?: Brake;
  tokens: number;
  tokensAt: number;
  /** When a line about this address was last logged, and how many were left out since. */
  loggedAt: number;
  suppressed: number;
}

/** The key an address counts under: IPv4 as is (mapped ones too), IPv6 by its /64. */
export function addressKey(remote: string | undefined): string {
  if (!remote) return 'unknown';
  if (remote.startsWith('::ffff:') && isIPv4(remote.slice(7))) return remote.slice(7);
  if (!remote.includes(':')) return remote;
  const [head = '', tail] = remote.split('%')[0]?.split('::') ?? [];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g || '0', 16).toString(16))
    .join(':')}::/64`;
}

export class PreLoginGuard {
  readonly limits: PreLoginLimits;
  /** Connections not logged in, by address key; an address with none has no entry. */
  readonly #pending = new Map<string, number>();
  #total = 0;
  /** In order of last use, oldest first (a Map keeps insertion order): the first is dropped first. */
  readonly #addresses = new Map<string, AddressState>();
  #suppressed = 0;
  /** Lines logged since `#windowAt`, against `limits.logLines`. */
  #windowAt = Number.NEGATIVE_INFINITY;
  #windowLines = 0;

  constructor(limits: Partial<PreLoginLimits> = {}) {
    this.limits = { ...DEFAULT_PRE_LOGIN_LIMITS, ...limits };
  }

  /** Connections not logged in, all addresses. */
  get pending(): number {
    return this.#total;
  }

  /**
   * A new connection from `key`: undefined if it may go on (it is then pending until `left`), or
   * why it is closed at once.
   */
  admit(key: string, now: number): Refusal | undefined {
    const a = this.#state(key, now);
    if (lockedFor(a.brake, now) > 0) return 'banned';
    this.#refill(a, now);
    if (a.tokens < 1) return 'connect_rate';
    const pending = this.#pending.get(key) ?? 0;
    if (pending >= this.limits.perAddress) return 'address_pending';
    if (this.#total >= this.limits.total) return 'pending_full';
    a.tokens -= 1;
    this.#pending.set(key, pending + 1);
    this.#total++;
    return undefined;
  }

  /** An admitted connection logged in (its token back) or closed without: no longer pending. */
  left(key: string, loggedIn: boolean, now: number): void {
    const pending = this.#pending.get(key) ?? 0;
    if (pending > 0) {
      this.#total--;
      if (pending === 1) this.#pending.delete(key);
      else this.#pending.set(key, pending - 1);
    }
    if (!loggedIn) return;
    const a = this.#addresses.get(key);
    if (!a) return;
    this.#refill(a, now);
    a.tokens = Math.min(this.limits.connectBurst, a.tokens + 1);
  }

  /** Milliseconds `key` is still banned for (its logins refused unread). */
  bannedFor(key: string, now: number): number {
    return lockedFor(this.#addresses.get(key)?.brake, now);
  }

  /** Wrong credentials from `key`; returns the ban it starts (0 while failures are still free). */
  loginFailed(key: string, now: number): number {
    const a = this.#state(key, now);
    const { brake, wait } = afterFailure(a.brake, now, this.limits.loginBrake);
    a.brake = brake;
    return wait;
  }

  /**
   * Whether a line about `key` may be logged now (one per `logEveryMs`, `logLines` in all); if so,
   * how many were left out since the last one. The others are counted for `summary`.
   */
  mayLog(key: string, now: number): { suppressed: number } | undefined {
    const a = this.#state(key, now);
    if (now - this.#windowAt >= this.limits.logEveryMs) {
      this.#windowAt = now;
      this.#windowLines = 0;
    }
    if (now - a.loggedAt < this.limits.logEveryMs || this.#windowLines >= this.limits.logLines) {
      a.suppressed++;
      this.#suppressed++;
      return undefined;
    }
    const suppressed = a.suppressed;
    this.#windowLines++;
    a.loggedAt = now;
    a.suppressed = 0;
    return { suppressed };
  }

  /**
   * Lines left out since the last call (to be logged as one), and forgets the addresses that have
   * nothing left to remember: no failures, a full bucket, no line logged within the period.
   */
  summary(now: number): number {
    const n = this.#suppressed;
    this.#suppressed = 0;
    for (const [key, a] of this.#addresses) {
      this.#refill(a, now);
      const quiet =
        score(a.brake, now, this.limits.loginBrake) === 0 &&
        lockedFor(a.brake, now) === 0 &&
        a.tokens >= this.limits.connectBurst &&
        now - a.loggedAt >= this.limits.logEveryMs;
      if (quiet) this.#addresses.delete(key);
    }
    return n;
  }

  /** Addresses remembered (at most `limits.addresses`). */
  get remembered(): number {
    return this.#addresses.size;
  }

  #state(key: string, now: number): AddressState {
    let a = this.#addresses.get(key);
    if (a) {
      this.#addresses.delete(key); // to the end: the most recently seen
    } else {
      a = {
        tokens: this.limits.connectBurst,
        tokensAt: now,
        loggedAt: Number.NEGATIVE_INFINITY,
        suppressed: 0,
      };
      if (this.#addresses.size >= this.limits.addresses) {
        const oldest = this.#addresses.keys().next().value;
        if (oldest !== undefined) this.#addresses.delete(oldest);
      }
    }
    this.#addresses.set(key, a);
    return a;
  }

  #refill(a: AddressState, now: number): void {
    const gained = (Math.max(0, now - a.tokensAt) / 1000) * this.limits.connectsPerSecond;
    a.tokens = Math.min(this.limits.connectBurst, a.tokens + gained);
    a.tokensAt = now;
  }
}
