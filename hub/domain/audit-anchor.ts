/**
 * Anchors: the ledger's head (seq, hash, count, time) signed and kept outside the hub
 * (docs/security.md §7). The chain's key stops someone who can write the database from rewriting
 * rows; it cannot stop them cutting the tail, nor someone holding hub.key from re-chaining all of
 * it. An anchor can: the anchored event must still be there with the anchored hash, as the row
 * count up to it. Anchors are signed with Ed25519, the private key derived from hub.key (kept
 * nowhere else), so whoever has the public key can tell an anchor of this hub from a forged one.
 */
import { createHmac, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Component } from '../components.ts';
import { type LedgerHead, ledgerHead, type VerifyResult, verifyLedger } from '../db/ledger.ts';
import type { Db } from '../db/open.ts';
import type { OutboundPolicy } from './notify/outbound.ts';

export const ANCHOR_PERIOD_MS = 3_600_000;

const anchorSchema = z.strictObject({
  v: z.literal(1),
  seq: z.number().int().min(1),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  count: z.number().int().min(1),
  ts: z.number().int(),
  /** The signer's Ed25519 public key, raw, base64: to compare with the one the operator published. */
  key: z.string(),
  sig: z.string(),
});
export type Anchor = z.infer<typeof anchorSchema>;

/** Where anchors go: a file the hub only appends to (JSON Lines), or a URL that receives a POST. */
export type AnchorTarget = { file: string } | { url: string };

// PKCS #8 wrapping of a raw Ed25519 seed (RFC 8410): how node:crypto takes a private key from 32 bytes.
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');

function signingKey(hubKey: Buffer): KeyObject {
  const seed = createHmac('sha256', hubKey).update('casier ledger anchor ed25519 v1').digest();
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8, seed]), format: 'der', type: 'pkcs8' });
}

/** The public key that checks this hub's anchors, raw and base64; publish it where anchors are read. */
export function anchorPublicKey(hubKey: Buffer): string {
  const spki = createPublicKey(signingKey(hubKey)).export({ format: 'der', type: 'spki' });
  return spki.subarray(ED25519_SPKI.length).toString('base64');
}

/** The same key as PEM, for `openssl pkeyutl -verify` and the like. */
export function anchorPublicKeyPem(hubKey: Buffer): string {
  return createPublicKey(signingKey(hubKey)).export({ format: 'pem', type: 'spki' }).toString();
}

const signed = (a: LedgerHead & { ts: number }) =>
  Buffer.from(`casier ledger anchor v1\n${a.seq}\n${a.hash}\n${a.count}\n${a.ts}`);

export function signHead(hubKey: Buffer, head: LedgerHead, ts: number): Anchor {
  const body = { seq: head.seq, hash: head.hash, count: head.count, ts };
  const sig = sign(null, signed(body), signingKey(hubKey)).toString('base64');
  return { v: 1, ...body, key: anchorPublicKey(hubKey), sig };
}

/** Whether `a` was signed with the key `publicKey` (raw, base64) names. */
export function anchorSigned(a: Anchor, publicKey: string): boolean {
  if (a.key !== publicKey) return false;
  const key = createPublicKey({
    key: Buffer.concat([ED25519_SPKI, Buffer.from(publicKey, 'base64')]),
    format: 'der',
    type: 'spki',
  });
  return verify(null, signed(a), key, Buffer.from(a.sig, 'base64'));
}

export function parseTarget(s: string): AnchorTarget {
  if (s.startsWith('file:')) {
    const file = s.slice('file:'.length).replace(/^\/\/(?=\/)/, '');
    if (!file.startsWith('/')) throw new Error(`${s}: expected file:/absolute/path`);
    return { file };
  }
  if (/^https?:\/\//.test(s)) return { url: new URL(s).href };
  throw new Error(`${s}: expected file:/path or an http(s):// URL`);
}

/** The last anchor of a JSON Lines file; undefined if there is none yet. A garbled line is an error. */
export function lastAnchorIn(file: string): Anchor | undefined {
  if (!existsSync(file)) return undefined;
  const line = readFileSync(file, 'utf8').trimEnd().split('\n').at(-1);
  if (!line) return undefined;
  try {
    return anchorSchema.parse(JSON.parse(line));
  } catch {
    throw new Error(`${file}: its last line is not an anchor`);
  }
}

/** Sends `anchor` to `target`: one line appended to the file, or a POST answered 2xx. */
export async function publish(target: AnchorTarget, anchor: Anchor, outbound: OutboundPolicy): Promise<void> {
  const line = JSON.stringify(anchor);
  if ('file' in target) {
    appendFileSync(target.file, `${line}\n`, { mode: 0o600 });
    return;
  }
  const status = await outbound.post(target.url, { 'content-type': 'application/json' }, line, 10_000);
  // A redirect is not followed (outbound.ts): an anchor only counts where the operator said.
  if (status < 200 || status >= 300) throw new Error(`${target.url} answered HTTP ${status}`);
}

/**
 * The ledger checked with the hub's key against `anchor` once its signature is found to be this
 * hub's: an anchor anyone could write would prove nothing.
 */
export function verifyAgainst(db: Db, hubKey: Buffer, anchor?: Anchor, since?: LedgerHead): VerifyResult {
  if (anchor && !anchorSigned(anchor, anchorPublicKey(hubKey)))
    return {
      ok: false,
      events: 0,
      problem: `anchor mismatch: the anchor at event ${anchor.seq} is not signed with this hub's key`,
      lastHash: '',
      anchor: { seq: anchor.seq, ok: false },
    };
  return verifyLedger(db, hubKey, anchor, since);
}

/**
 * Signs the head and publishes it, once the ledger verifies against `previous` (the target's last
 * anchor, if known): an anchor of a cut or rewritten ledger would hide what was done to it. With
 * `since`, a head this process verified before, only the rows after it are read again.
 */
export async function anchorLedger(
  db: Db,
  hubKey: Buffer,
  target: AnchorTarget,
  outbound: OutboundPolicy,
  ts: number,
  previous?: Anchor,
  since?: LedgerHead,
): Promise<{ anchor?: Anchor; check: VerifyResult }> {
  const check = verifyAgainst(db, hubKey, previous, since);
  const head = ledgerHead(db);
  if (!check.ok || !head) return { check };
  const anchor = signHead(hubKey, head, ts);
  await publish(target, anchor, outbound);
  return { anchor, check };
}

/**
 * The hub's hourly anchor (`--audit-anchor`). It looks every minute, so the first anchor goes out
 * within a minute of a start; a failed POST is tried again the next minute, a ledger that does not
 * verify is logged and not anchored.
 */
export class AuditAnchors implements Component {
  readonly name = 'audit-anchor';
  readonly everyMs = 60_000;
  #last: Anchor | undefined;
  #due = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly db: Db,
    private readonly hubKey: Buffer,
    private readonly target: AnchorTarget,
    private readonly outbound: OutboundPolicy,
    private readonly log: Logger,
    private readonly periodMs = ANCHOR_PERIOD_MS,
  ) {}

  async tick(at: number): Promise<void> {
    if (at < this.#due) return;
    // Only the rows after the previous anchor are read again: those before it were checked when it
    // was taken, and an edit among them cannot be anchored over (the hashes anchored stay the same).
    const previous = this.last();
    const r = await anchorLedger(this.db, this.hubKey, this.target, this.outbound, at, previous, previous);
    this.#due = at + this.periodMs;
    if (r.anchor) {
      this.#last = r.anchor;
      this.log.info({ seq: r.anchor.seq, hash: r.anchor.hash }, 'ledger anchored');
    } else if (!r.check.ok) {
      this.log.error(
        { brokenAt: r.check.brokenAt, problem: r.check.problem },
        'ledger does not verify: not anchored',
      );
    }
  }

  /** The last anchor: the file's (the command line may have added one) or the last this hub sent. */
  last(): Anchor | undefined {
    return 'file' in this.target ? lastAnchorIn(this.target.file) : this.#last;
  }
}

/** The ledger checked against the last anchor `anchors` knows, if any (GET /api/v1/audit/verify). */
export function auditCheck(db: Db, hubKey: Buffer, anchors?: AuditAnchors): VerifyResult {
  let last: Anchor | undefined;
  try {
    last = anchors?.last();
  } catch (err) {
    return { ok: false, events: 0, problem: `anchor mismatch: ${(err as Error).message}`, lastHash: '' };
  }
  return verifyAgainst(db, hubKey, last);
}
