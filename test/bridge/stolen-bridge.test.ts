/**
 * A stolen bridge (docs/security.md §9): whoever holds a cabinet's Pi holds its MQTT password,
 * hence its offline key k, and its offline code table. The table held HMAC(k, code): 10^8 HMACs,
 * seconds of one core, gave every live code. Each entry is now scrypt of that HMAC at the production
 * cost, salted with the locker: a candidate costs the thief one scrypt of 32 MiB, the time of which
 * docs/security.md §9 turns into core-months. The hub here hashes at the production cost, and the
 * cabinet opens offline with it, end to end.
 */
import { createHmac, scryptSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimLocker } from '../../cli/sim-locker.ts';
import { type CodesTable, decodePayload, findProfile, OFFLINE_COST } from '../../devices/index.ts';
import { Outbox } from '../../firmware-bridge/outbox.ts';
import { eventually, startTestHub, type TestHub } from '../helpers/hub.ts';
import { visit } from '../helpers/locker.ts';

let t: TestHub;
let dir: string;
let box: SimLocker;
let password: string;
const ref = { site: 'ferme', locker: 'box-1' };

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'casier-stolen-bridge-'));
  t = await startTestHub({ offlineCost: OFFLINE_COST });
  password = t.hub.provisioning.addDevice(ref, 'rural-box-8', 'test').password;
  box = new SimLocker({
    ...ref,
    url: t.hub.mqttUrl,
    password,
    profile: findProfile('rural-box-8') as NonNullable<ReturnType<typeof findProfile>>,
    replyTimeoutMs: 1000,
    dataDir: dir,
  });
  await box.start();
});
afterEach(async () => {
  await box.stop();
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

/** What the thief computes from the password alone: k, then the HMAC of a candidate. */
const offlineKeyOf = (pw: string) => createHmac('sha256', pw).update('casier offline codes v1').digest();
const hmacOf = (code: string) => createHmac('sha256', offlineKeyOf(password)).update(code).digest();
/** The bytes of the bridge's whole store, its write-ahead log included. */
const storeBytes = () =>
  ['bridge.db', 'bridge.db-wal']
    .map((f) => join(dir, 'bridge', f))
    .filter((f) => existsSync(f))
    .map((f) => readFileSync(f).toString('latin1'))
    .join('');

async function parcel() {
  const res = await t.api(
    'POST',
    '/api/v1/parcels',
    { lockerId: 'box-1', size: 'M', temperatureClass: 'chilled', recipient: { name: 'Ada' } },
    t.integration,
  );
  expect(res.status).toBe(201);
  return res.body as { parcel: { id: string; door: number }; depositCode: string; pickupCode: string };
}

describe('a stolen bridge', () => {
  it('holds slow hashes only: each candidate costs one scrypt of the production cost', async () => {
    const p = await parcel();
    await eventually(() => box.outbox.codeTable()?.entries.length === 2, 10_000, 'both codes on the Pi');
    // What the thief reads from the card.
    const table = box.outbox.codeTable() as CodesTable;
    expect(table).toMatchObject({ format: 2, cost: OFFLINE_COST });
    expect(128 * OFFLINE_COST.N * OFFLINE_COST.r).toBe(32 * 1024 * 1024);
    const hashes = table.entries.map((e) => e.h);
    for (const code of [p.depositCode, p.pickupCode]) {
      const mac = hmacOf(code);
      // The HMAC a candidate costs nothing to compute matches no entry and is nowhere on the card…
      expect(hashes).not.toContain(mac.toString('hex'));
      expect(storeBytes()).not.toContain(mac.toString('hex'));
      expect(storeBytes()).not.toContain(code);
      // …only scrypt of it, salted with the locker, does: what each of the 10^8 candidates costs.
      const slow = scryptSync(mac, 'casier offline codes v2 box-1', 32, {
        ...OFFLINE_COST,
        maxmem: 64 * 1024 * 1024,
      }).toString('hex');
      expect(hashes).toContain(slow);
    }
  });

  it('still opens offline for a valid code at the production cost, and the hub reconciles it', async () => {
    const p = await parcel();
    await eventually(() => box.outbox.codeTable()?.entries.length === 2, 10_000, 'both codes on the Pi');
    await t.hub.stop();
    await eventually(() => !box.connected, 5000, 'the bridge offline');
    // One scrypt on the Pi for the typed code (here ~120 ms; a Pi 4 three to four times that).
    await visit(box.board, p.depositCode, p.parcel.door, 10_000);
    await t.restart();
    await eventually(
      async () => (await t.api('GET', `/api/v1/parcels/${p.parcel.id}`)).body.state === 'stored',
      15_000,
      'stored',
    );
  });
});

describe('a bridge upgraded from HMAC tables', () => {
  it('erases the table of format 1 it held, and never checks a code against it', () => {
    const other = mkdtempSync(join(tmpdir(), 'casier-old-bridge-'));
    try {
      new Outbox(other).close();
      const mac = hmacOf('12345678').toString('hex');
      const old = {
        version: 9,
        entries: [{ h: mac, doors: [1], kind: 'pickup', notBefore: 0, expiresAt: 9e12 }],
      };
      const db = new Database(join(other, 'bridge.db'));
      db.prepare('INSERT INTO code_table (k, version, body) VALUES (1, 9, ?)').run(JSON.stringify(old));
      db.close();
      // An older hub's table is refused at the door too: the bridge says so rather than refusing every code.
      expect(decodePayload('codes', Buffer.from(JSON.stringify(old))).ok).toBe(false);

      const outbox = new Outbox(other);
      expect(outbox.codeTable()).toBeUndefined();
      outbox.close();
      const bytes = ['bridge.db', 'bridge.db-wal']
        .map((f) => join(other, f))
        .filter((f) => existsSync(f))
        .map((f) => readFileSync(f).toString('latin1'))
        .join('');
      expect(bytes).not.toContain(mac);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
