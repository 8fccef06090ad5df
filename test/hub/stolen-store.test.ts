/**
 * A copy of casier.db alone (a backup left on a shared drive, a disk thrown away) must not let
 * anyone test codes offline. The first wave's attack: each cabinet's offline key sat in clear in
 * `lockers.offline_key`, and `codes.offline_hash` = HMAC(offline key, code): 6 of 6 live codes
 * recovered in 11.6 s of one core. Now the offline key is sealed under the hub's key (hub.key,
 * beside the database, not in it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { offlineKey, offlineMac } from '../../devices/index.ts';
import { openStore } from '../../hub/store.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'casier-stolen-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Every way the thief might read a stored value as a key. */
const asKeys = (v: string) =>
  [
    Buffer.from(v, 'hex'),
    Buffer.from(v, 'base64'),
    Buffer.from(v),
    Buffer.from(v.replace(/^s1:/, ''), 'base64'),
  ].filter((k) => k.length > 0);

function provision() {
  const store = openStore(dir);
  const { password } = store.provisioning.addDevice(
    { site: 'ferme', locker: 'box-1' },
    'rural-box-8',
    'test',
  );
  const { depositCode } = store.parcels.create(
    { lockerId: 'box-1', size: 'S', temperatureClass: 'ambient', recipient: { name: 'Ada' } },
    'test',
  );
  return { store, password, depositCode };
}

describe('a stolen copy of the database', () => {
  it('holds nothing that tests a code against its offline hash', () => {
    const { store, password, depositCode } = provision();
    store.db.close();
    // What the thief has: the database file, not hub.key.
    const stolen = new Database(join(dir, 'casier.db'), { readonly: true });
    const stored = stolen
      .prepare("SELECT offline_key FROM lockers WHERE id = 'box-1'")
      .pluck()
      .get() as string;
    // The HMAC the table's slow hash is computed from (hub/offline-hashes.ts): the weaker of the two.
    const hash = stolen
      .prepare("SELECT offline_mac FROM codes WHERE kind = 'deposit'")
      .pluck()
      .get() as string;
    stolen.close();
    // The HMAC is the one the cabinet computes, unchanged.
    expect(hash).toBe(offlineMac(offlineKey(password), depositCode));
    expect(stored).not.toContain(offlineKey(password).toString('hex'));
    for (const key of asKeys(stored)) expect(offlineMac(key, depositCode)).not.toBe(hash);
  });

  it('is sealed at the first start of the new hub when an older one kept the keys in clear', () => {
    const { store, password } = provision();
    store.db
      .prepare("UPDATE lockers SET offline_key = ? WHERE id = 'box-1'")
      .run(offlineKey(password).toString('hex'));
    store.db.close();
    const again = openStore(dir);
    const stored = again.db
      .prepare("SELECT offline_key FROM lockers WHERE id = 'box-1'")
      .pluck()
      .get() as string;
    expect(stored.startsWith('s1:')).toBe(true);
    // New codes still carry the HMAC the cabinet computes from its password.
    const { pickupCode, parcel } = again.parcels.create(
      { lockerId: 'box-1', size: 'S', temperatureClass: 'ambient', recipient: { name: 'Bob' } },
      'test',
    );
    const hash = again.db
      .prepare("SELECT offline_mac FROM codes WHERE parcel_id = ? AND kind = 'pickup'")
      .pluck()
      .get(parcel.id) as string;
    expect(hash).toBe(offlineMac(offlineKey(password), pickupCode));
    again.db.close();
  });
});
