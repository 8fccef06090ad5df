/**
 * Offline codes (docs/protocol.md §3.2): while the hub is unreachable, the cabinet checks a typed
 * code against the retained code table, which holds slow keyed hashes, never codes. The key is
 * derived from the cabinet's MQTT password, so hub and cabinet share it without another
 * secret to provision. Pure: the same functions serve the hub (hashing) and the bridge (checking).
 *
 * Whoever holds a cabinet's Pi holds that password, hence the key: what protects the codes of a
 * stolen bridge is only the cost of each candidate. A table entry is therefore scrypt of the keyed
 * HMAC, and testing one of the 10^8 candidates costs one scrypt (docs/security.md §9).
 */
import { createHmac, scrypt } from 'node:crypto';
import type { CodesTable, OfflineCost } from './messages.ts';

const KEY_CONTEXT = 'casier offline codes v1';
/** Salt of the slow hash, with the locker id: the hashes of two cabinets have nothing in common. */
const SALT_CONTEXT = 'casier offline codes v2';

/** The hashes a code table carries (`format`): 2 = scrypt of the keyed HMAC. */
export const OFFLINE_FORMAT = 2 as const;

/**
 * The production cost: 32 MiB and about 120 ms of one core here, 3 to 4 times that on a Pi 4, for
 * each typed code offline and for each candidate a thief tests (docs/security.md §9).
 */
export const OFFLINE_COST: OfflineCost = Object.freeze({ N: 2 ** 15, r: 8, p: 1 });

/** The cabinet's offline-code key: HMAC-SHA-256(password, context). */
export function offlineKey(password: string): Buffer {
  return createHmac('sha256', password).update(KEY_CONTEXT).digest();
}

/**
 * The fast keyed hash of a code, h1 = HMAC-SHA-256(offline key, code), hex. The hub keeps it (under
 * a key it keeps sealed) to compute the slow hash from without ever storing the code; it is never
 * published.
 */
export function offlineMac(key: Buffer, code: string): string {
  return createHmac('sha256', key).update(code).digest('hex');
}

/**
 * The hash a code appears under in its cabinet's table: h = scrypt(h1, context + locker id), hex.
 * Asynchronous: node runs scrypt on libuv's thread pool, never on the event loop.
 */
export function offlineStretch(mac: string, lockerId: string, cost: OfflineCost): Promise<string> {
  // scrypt wants a little more than its 128·N·r bytes of work memory.
  const maxmem = 128 * cost.N * cost.r * 2;
  return new Promise((resolve, reject) =>
    scrypt(Buffer.from(mac, 'hex'), `${SALT_CONTEXT} ${lockerId}`, 32, { ...cost, maxmem }, (err, h) =>
      err ? reject(err) : resolve(h.toString('hex')),
    ),
  );
}

/** h1 then h: what a cabinet computes for a typed code, once per code. */
export function offlineHash(key: Buffer, lockerId: string, code: string, cost: OfflineCost): Promise<string> {
  return offlineStretch(offlineMac(key, code), lockerId, cost);
}

export type CodeTableEntry = CodesTable['entries'][number];
export type OfflineCheck =
  | { ok: true; entry: CodeTableEntry }
  | { ok: false; reason: 'unknown' | 'expired' | 'not_yet_valid' | 'used' };

/**
 * What a typed code may do offline. `used` holds the hashes this cabinet has already accepted
 * offline: a code opens once, here as at the hub.
 */
export function checkOffline(
  table: CodesTable,
  h: string,
  now: number,
  used: ReadonlySet<string>,
): OfflineCheck {
  const entry = table.entries.find((e) => e.h === h);
  if (!entry) return { ok: false, reason: 'unknown' };
  if (used.has(h)) return { ok: false, reason: 'used' };
  if (now >= entry.expiresAt) return { ok: false, reason: 'expired' };
  if (now < entry.notBefore || (entry.after && !used.has(entry.after)))
    return { ok: false, reason: 'not_yet_valid' };
  return { ok: true, entry };
}
