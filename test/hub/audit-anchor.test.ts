/**
 * Anchors of the ledger's head outside the hub: signed with a key derived from hub.key, appended
 * to a file or POSTed through the outbound policy, hourly by the hub on its clock, and refused for
 * a ledger that no longer holds the last one (docs/security.md §7).
 */
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ledgerHead } from '../../hub/db/ledger.ts';
import {
  type Anchor,
  AuditAnchors,
  anchorPublicKey,
  anchorSigned,
  auditCheck,
  lastAnchorIn,
  parseTarget,
  signHead,
  verifyAgainst,
} from '../../hub/domain/audit-anchor.ts';
import { OutboundPolicy } from '../../hub/domain/notify/outbound.ts';
import { openStore } from '../../hub/store.ts';
import { startTestHub } from '../helpers/hub.ts';
import { casier } from '../helpers/process.ts';

const HOUR = 3_600_000;
const T0 = 1_750_000_000_000;

let dir: string;
let store: ReturnType<typeof openStore>;
afterEach(() => {
  if (store?.db.open) store.db.close();
  rmSync(dir, { recursive: true, force: true });
});

function storeWith(n: number) {
  dir = mkdtempSync(join(tmpdir(), 'casier-anchor-'));
  store = openStore(dir, 8, () => T0);
  append(n);
}

function append(n: number) {
  store.db.transaction(() => {
    for (let i = 0; i < n; i++)
      store.ledger.append({ ts: T0 + i, type: 'door.opened', actor: 'hub', door: i });
  })();
}

const logger = () =>
  ({ info: vi.fn(), error: vi.fn() }) as unknown as Logger &
    Record<'info' | 'error', ReturnType<typeof vi.fn>>;
const lines = (file: string) => readFileSync(file, 'utf8').trim().split('\n');

describe('ledger anchors', () => {
  it("are signed with the hub's derived key, and an edited or foreign anchor is told apart", () => {
    storeWith(5);
    const anchor = signHead(
      store.hubKey,
      ledgerHead(store.db) as NonNullable<ReturnType<typeof ledgerHead>>,
      T0,
    );
    expect(anchor).toMatchObject({ v: 1, seq: 5, count: 5, ts: T0, key: anchorPublicKey(store.hubKey) });
    expect(anchorSigned(anchor, anchorPublicKey(store.hubKey))).toBe(true);
    expect(anchorSigned({ ...anchor, seq: 4, count: 4 }, anchor.key)).toBe(false);
    const foreign = signHead(Buffer.alloc(32, 9), { seq: 5, hash: anchor.hash, count: 5 }, T0);
    expect(verifyAgainst(store.db, store.hubKey, foreign)).toMatchObject({
      ok: false,
      problem: "anchor mismatch: the anchor at event 5 is not signed with this hub's key",
    });
    expect(verifyAgainst(store.db, store.hubKey, anchor)).toMatchObject({
      ok: true,
      anchor: { seq: 5, ok: true },
    });
  });

  it('are written by the hub within a minute of its start, then hourly, to an append-only file', async () => {
    storeWith(20);
    const file = join(dir, 'anchors.jsonl');
    const log = logger();
    const anchors = new AuditAnchors(
      store.db,
      store.hubKey,
      parseTarget(`file:${file}`),
      new OutboundPolicy(),
      log,
    );
    await anchors.tick(T0);
    expect(lines(file)).toHaveLength(1);
    append(3);
    await anchors.tick(T0 + HOUR / 2);
    expect(lines(file)).toHaveLength(1);
    await anchors.tick(T0 + HOUR);
    expect(lines(file)).toHaveLength(2);
    expect(lastAnchorIn(file)).toMatchObject({ seq: 23, count: 23, ts: T0 + HOUR });
    // Rows appended after the last anchor verify too.
    append(4);
    expect(auditCheck(store.db, store.hubKey, anchors)).toMatchObject({
      ok: true,
      events: 27,
      anchor: { seq: 23, ok: true },
    });
  });

  it('are refused for a ledger cut below the last one, which the API reports', async () => {
    storeWith(20);
    const file = join(dir, 'anchors.jsonl');
    const log = logger();
    const anchors = new AuditAnchors(
      store.db,
      store.hubKey,
      parseTarget(`file:${file}`),
      new OutboundPolicy(),
      log,
    );
    await anchors.tick(T0);
    store.db.exec('DROP TRIGGER events_no_delete;');
    store.db.prepare('DELETE FROM events WHERE seq > 15').run();
    await anchors.tick(T0 + HOUR);
    expect(lines(file)).toHaveLength(1);
    expect(log.error).toHaveBeenCalledWith(
      expect.objectContaining({
        problem: 'anchor mismatch: anchored event 20 is gone, the ledger ends at 15',
      }),
      'ledger does not verify: not anchored',
    );
    expect(auditCheck(store.db, store.hubKey, anchors)).toMatchObject({ ok: false, brokenAt: 16 });
    writeFileSync(file, '{"v":1,"seq":3}\n', { flag: 'a' });
    expect(auditCheck(store.db, store.hubKey, anchors)).toMatchObject({
      ok: false,
      problem: expect.stringContaining('its last line is not an anchor'),
    });
  });

  it('go to a URL only through the outbound policy: a loopback receiver only when allowed', async () => {
    storeWith(3);
    const received: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push(body);
        res.end();
      });
    }).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/anchors`;
    try {
      const refused = new AuditAnchors(
        store.db,
        store.hubKey,
        parseTarget(url),
        new OutboundPolicy(),
        logger(),
      );
      await expect(refused.tick(T0)).rejects.toThrow(/private, loopback or link-local/);
      const allowed = new OutboundPolicy(['127.0.0.1']);
      const anchors = new AuditAnchors(store.db, store.hubKey, parseTarget(url), allowed, logger());
      await anchors.tick(T0);
      expect(received).toHaveLength(1);
      const anchor = JSON.parse(received[0] as string) as Anchor;
      expect(anchor).toMatchObject({ seq: 3, count: 3 });
      expect(anchors.last()).toEqual(anchor);
      expect(anchorSigned(anchor, anchorPublicKey(store.hubKey))).toBe(true);
    } finally {
      server.close();
    }
  });

  it('take targets a file or an http(s) URL, nothing else', () => {
    expect(parseTarget('file:/var/lib/anchors.jsonl')).toEqual({ file: '/var/lib/anchors.jsonl' });
    expect(parseTarget('file:///var/lib/a.jsonl')).toEqual({ file: '/var/lib/a.jsonl' });
    expect(parseTarget('https://audit.example/anchors')).toEqual({ url: 'https://audit.example/anchors' });
    expect(() => parseTarget('file:relative.jsonl')).toThrow(/absolute/);
    expect(() => parseTarget('ftp://x')).toThrow(/expected/);
  });
});

describe('a hub started with --audit-anchor', () => {
  it('anchors its ledger at its first tick, and GET /api/v1/audit/verify checks against that anchor', async () => {
    dir = mkdtempSync(join(tmpdir(), 'casier-anchor-'));
    const file = join(dir, 'anchors.jsonl');
    const t = await startTestHub({ auditAnchor: `file:${file}`, manualTicks: true, now: () => T0 });
    try {
      await t.hub.tick();
      const anchor = lastAnchorIn(file) as Anchor;
      expect(anchor.seq).toBeGreaterThan(0);
      expect((await t.api('GET', '/api/v1/audit/verify')).body).toMatchObject({
        ok: true,
        anchor: { seq: anchor.seq, ok: true },
      });
    } finally {
      await t.close();
    }
  });

  it('does not start with a target that is neither a file nor a URL', async () => {
    await expect(startTestHub({ auditAnchor: 'anchors.jsonl' })).rejects.toThrow(/expected file:\/path/);
  });
});

describe('casier audit anchor and audit verify --anchor', () => {
  it('anchor a store to a file and verify against it; a store cut below it does not verify', () => {
    storeWith(4);
    store.db.close();
    const d = ['--data-dir', dir];
    const file = join(dir, 'anchors.jsonl');
    const anchored = casier(['audit', 'anchor', '--to', `file:${file}`, ...d]);
    expect(anchored).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^anchored event 4 \(4 events, hash [0-9a-f]{64}\)/),
    });
    expect(casier(['audit', 'verify', '--anchor', file, ...d])).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('the anchor at event 4 holds'),
    });
    expect(casier(['audit', 'key', ...d]).stdout).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    store = openStore(dir, 8, () => T0);
    store.db.exec('DROP TRIGGER events_no_delete;');
    store.db.prepare('DELETE FROM events WHERE seq > 2').run();
    expect(casier(['audit', 'verify', '--anchor', file, ...d])).toMatchObject({
      code: 1,
      stdout:
        'ledger BROKEN at event 3: anchor mismatch: anchored event 4 is gone, the ledger ends at 2 (after 2 good events)\n',
    });
    expect(casier(['audit', 'anchor', '--to', `file:${file}`, ...d])).toMatchObject({
      code: 1,
      stdout: expect.stringContaining('not anchored: ledger BROKEN at event 3'),
    });
    expect(lines(file)).toHaveLength(1);
  });
});
