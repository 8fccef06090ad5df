/**
 * Random ids, codes and secrets, and how they are hashed. Everything random comes from the
 * CSPRNG (node:crypto); nothing secret is stored in clear.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  randomBytes,
  randomFillSync,
  randomInt,
  timingSafeEqual,
} from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** CSPRNG bytes drawn 4 KiB at a time, each used once: one call into OpenSSL per 400 ids. */
const pool = Buffer.alloc(4096);
let poolAt = pool.length;

/** A short, unambiguous id such as `P-7K2M9QH4TR`: 10 Crockford base-32 characters = 50 bits. */
export function newId(prefix: string): string {
  if (poolAt + 10 > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  let s = '';
  for (let i = poolAt; i < poolAt + 10; i++) s += CROCKFORD[(pool[i] as number) & 31];
  poolAt += 10;
  return `${prefix}-${s}`;
}

/** A numeric keypad code of `digits` digits, uniform over 10^digits. */
export function newCode(digits: number): string {
  let s = '';
  for (let i = 0; i < digits; i++) s += String(randomInt(10));
  return s;
}

/**
 * Codes are stored as HMAC-SHA-256 under the hub's key: a stolen database alone does not let
 * anyone enumerate 10^8 candidate codes offline.
 */
export function hashCode(key: Buffer, code: string): string {
  return createHmac('sha256', key).update(code).digest('hex');
}

/**
 * 256-bit secrets (device passwords, API tokens) in base64url, never starting with `-`: one in 64
 * did, and a command line (`casier bridge --password …`) took it for an option.
 */
export function newSecret(): string {
  for (;;) {
    const secret = randomBytes(32).toString('base64url');
    if (secret[0] !== '-') return secret;
  }
}

/**
 * A plain SHA-256 suffices for 256-bit random secrets: brute force is out of reach whatever the
 * hash speed, and a slow KDF would cost every device reconnect a few tens of milliseconds.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

const SEALED = 's1:';

/** The key that seals the cabinets' offline keys: derived from the hub's key, never stored. */
const sealKey = (hubKey: Buffer) =>
  createHmac('sha256', hubKey).update('casier offline-key seal v1').digest();

/**
 * AES-256-GCM under `key`, bound by `aad` (what the value belongs to: a value copied elsewhere does
 * not open), as `s1:` and base64 of IV, tag and body.
 */
function seal(key: Buffer, aad: string, plain: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return SEALED + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

/** What `seal` sealed; throws if the value or its binding was tampered with. */
function unseal(key: Buffer, aad: string, sealed: string): Buffer {
  const raw = Buffer.from(sealed.slice(SEALED.length), 'base64');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12))
    .setAAD(Buffer.from(aad))
    .setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
}

/**
 * A cabinet's offline-code key as the store keeps it: sealed under a key derived from the hub's key
 * (hub.key, outside the database), bound to the locker id. The offline hashes of the codes are
 * HMACs under this key: with the database alone, they cannot be tested (docs/security.md §2).
 */
export function sealOfflineKey(hubKey: Buffer, lockerId: string, key: Buffer): string {
  return seal(sealKey(hubKey), lockerId, key);
}

/** The offline key from what the store keeps; a key kept in clear by an older hub is read as it is. */
export function openOfflineKey(hubKey: Buffer, lockerId: string, stored: string): Buffer {
  if (!stored.startsWith(SEALED)) return Buffer.from(stored, 'hex');
  return unseal(sealKey(hubKey), lockerId, stored);
}

export const isSealed = (stored: string) => stored.startsWith(SEALED);

/** The key that seals codes the customer's page may show again: another derivation than the offline keys'. */
const codeSealKey = (hubKey: Buffer) => createHmac('sha256', hubKey).update('casier code seal v1').digest();

/**
 * A code as the store keeps it for showing again (codes.sealed): sealed under another key derived
 * from the hub's key, bound by `bind` (the code's row: its parcel and keyed hash), so a sealed
 * value copied onto another row does not open. A stolen database alone shows no code.
 */
export function sealCode(hubKey: Buffer, bind: string, code: string): string {
  return seal(codeSealKey(hubKey), bind, Buffer.from(code, 'utf8'));
}

/** The code `sealCode` sealed; throws if the value or its binding was tampered with. */
export function openCode(hubKey: Buffer, bind: string, sealed: string): string {
  return unseal(codeSealKey(hubKey), bind, sealed).toString('utf8');
}

/** The hub's code key, created on first start in the data directory (mode 0600). */
export function loadOrCreateKey(dataDir: string): Buffer {
  const path = join(dataDir, 'hub.key');
  if (!existsSync(path)) {
    writeFileSync(path, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
  }
  chmodSync(path, 0o600);
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
  if (key.length !== 32) throw new Error(`${path}: expected 64 hex characters`);
  return key;
}
