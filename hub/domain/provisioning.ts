/**
 * Sites, lockers (one per cabinet controller, one MQTT identity each) and API tokens. Used by
 * the command line and the hub alike: both open the same store.
 */
import { type LockerProfile, type LockerRef, lockerKey, offlineKey } from '../../devices/index.ts';
import type { Ledger } from '../db/ledger.ts';
import { StoreMemo } from '../db/memo.ts';
import { cached, type Db } from '../db/open.ts';
import { HubError } from '../errors.ts';
import { lookupProfile } from './profiles.ts';
import { hashSecret, newId, newSecret, secretMatches } from './secrets.ts';

export const ROLES = ['operator', 'integration', 'driver', 'producer'] as const;
export type Role = (typeof ROLES)[number];

export interface ProvisionedDevice {
  site: string;
  locker: string;
  profile: string;
  /** MQTT username: `site/locker`. */
  username: string;
  /** Shown once; only its hash is stored. */
  password: string;
  compartments: number;
}

export interface TokenPrincipal {
  id: string;
  role: Role;
  name: string;
  /** The producer or driver a scoped token speaks for. */
  subject: string | null;
}

export class Provisioning {
  constructor(
    private readonly db: Db,
    private readonly ledger: Ledger,
    private readonly now: () => number,
    /** Seals a cabinet's offline-code key for the store (Codes.sealOfflineKey). */
    private readonly seal: (lockerId: string, key: Buffer) => string,
  ) {}

  /** Creates the site if needed and the locker with its compartments from the profile. */
  addDevice(ref: LockerRef, profileName: string, actor: string): ProvisionedDevice {
    const profile = lookupProfile(this.db, profileName);
    if (!profile) throw new HubError('HUB_ERR_PROFILE_NOT_FOUND', `unknown profile ${profileName}`);
    const password = newSecret();
    const ts = this.now();
    this.db
      .transaction(() => {
        const existing = this.db.prepare('SELECT site_id FROM lockers WHERE id = ?').get(ref.locker) as
          | { site_id: string }
          | undefined;
        if (existing) {
          throw new HubError(
            'HUB_ERR_ALREADY_EXISTS',
            `locker ${ref.locker} already exists (site ${existing.site_id})`,
          );
        }
        this.db
          .prepare('INSERT OR IGNORE INTO sites (id, name, created_at) VALUES (?, ?, ?)')
          .run(ref.site, ref.site, ts);
        this.db
          .prepare(
            'INSERT INTO lockers (id, site_id, profile, password_hash, offline_key, created_at) VALUES (?, ?, ?, ?, ?, ?)',
          )
          // The offline-code key is derived from the password, which the hub sees only now.
          .run(
            ref.locker,
            ref.site,
            profile.name,
            hashSecret(password),
            this.seal(ref.locker, offlineKey(password)),
            ts,
          );
        this.#insertCompartments(ref.locker, profile);
        this.ledger.append({
          ts,
          type: 'locker.provisioned',
          actor,
          lockerId: ref.locker,
          data: { site: ref.site, profile: profile.name },
        });
      })
      .immediate();
    return {
      site: ref.site,
      locker: ref.locker,
      profile: profile.name,
      username: lockerKey(ref),
      password,
      compartments: profile.compartments.length,
    };
  }

  #insertCompartments(lockerId: string, profile: LockerProfile): void {
    const insert = this.db.prepare(
      'INSERT INTO compartments (locker_id, door, size, temperature_class, sensor) VALUES (?, ?, ?, ?, ?)',
    );
    for (const c of profile.compartments)
      insert.run(lockerId, c.door, c.size, c.temperatureClass, c.sensor ?? null);
  }

  /** Device credentials check for the broker: the username is `site/locker`. */
  authenticateDevice(ref: LockerRef, password: string): boolean {
    const row = this.db.prepare('SELECT site_id, password_hash FROM lockers WHERE id = ?').get(ref.locker) as
      | { site_id: string; password_hash: string }
      | undefined;
    return !!row && row.site_id === ref.site && secretMatches(password, row.password_hash);
  }

  /**
   * `subject`: the producer or driver a token speaks for; such a token sees only that person's
   * parcels or round. Must be called inside or outside a transaction alike.
   */
  createToken(
    role: Role,
    name: string,
    actor: string,
    subject: string | null = null,
  ): { id: string; token: string; role: Role; name: string } {
    const id = newId('T');
    const token = `casier_${newSecret()}`;
    this.db.transaction(() => {
      this.db
        .prepare(
          'INSERT INTO api_tokens (id, hash, role, name, created_at, subject) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(id, hashSecret(token), role, name, this.now(), subject);
      this.ledger.append({ ts: this.now(), type: 'token.created', actor, data: { id, role, name, subject } });
    })();
    return { id, token, role, name };
  }

  /** A producer and their token (shown once), which lists their parcels and receipts, nothing else. */
  createProducer(name: string, actor: string): { id: string; name: string; token: string } {
    const id = newId('PR');
    return this.db
      .transaction(() => {
        const now = this.now();
        this.db.prepare('INSERT INTO producers (id, name, created_at) VALUES (?, ?, ?)').run(id, name, now);
        this.ledger.append({ ts: now, type: 'producer.created', actor, data: { id, name } });
        const { token } = this.createToken('producer', name, actor, id);
        return { id, name, token };
      })
      .immediate();
  }

  authenticateToken(token: string): TokenPrincipal | null {
    // Revoking a token is a write: the memo forgets every answer then.
    this.#tokens ??= new StoreMemo<TokenPrincipal | null>(this.db, 1000);
    return this.#tokens.get(token, () => {
      const row = cached(
        this.db,
        'SELECT id, role, name, subject FROM api_tokens WHERE hash = ? AND revoked_at IS NULL',
      ).get(hashSecret(token)) as TokenPrincipal | undefined;
      return row ?? null;
    });
  }

  #tokens: StoreMemo<TokenPrincipal | null> | undefined;
}
