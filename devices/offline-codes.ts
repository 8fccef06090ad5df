/**
 * Offline codes (docs/protocol.md §3.2): while the hub is unreachable, the cabinet checks a typed
 * code against the retained code table, which holds keyed hashes, never codes. The key is
 * derived from the cabinet's MQTT password, so hub and cabinet share it without another
 * secret to provision. Pure: the same functions serve the hub (hashing) and the bridge (checking).
 */
import { createHmac } from 'node:crypto';
import type { CodesTable } from './messages.ts';

const CONTEXT = 'casier offline codes v1';

/** The cabinet's offline-code key: HMAC-SHA-256(password, context). */
export function offlineKey(password: string): Buffer {
  return createHmac('sha256', password).update(CONTEXT).digest();
}

/** The hash a code appears under in the code table: HMAC-SHA-256(offline key, code), hex. */
export function offlineHash(key: Buffer, code: string): string {
  return createHmac('sha256', key).update(code).digest('hex');
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
