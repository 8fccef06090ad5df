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
  /**
   * The producer or driver the token speaks for; for an integration, its platform (the tenant
   * that owns the parcels and producers it creates, shared by the platform's tokens).
   */
  subject: string | null;
  /** The sites it may see and act at; null: every site. A driver's are their round's. */
  sites: readonly string[] | null;
  /** When it stops working (epoch ms); null: until revoked. */
  expiresAt: number | null;
  /** Reservations an integration may hold at one site; null: the default (access.ts). */
  maxReservations: number | null;
}

export interface TokenOptions {
  /** The producer or driver it speaks for, or an integration's platform (default: its own id). */
  subject?: string | null;
  /**
   * The token creating it, through the API: the new one cannot outlive it (it expires no later,
   * by default when it does) nor reach sites it cannot.
   */
  parent?: TokenPrincipal;
  sites?: readonly string[] | null;
  expiresAt?: number | null;
  maxReservations?: number | null;
}

/** A token as listed: never its secret. */
export interface TokenView {
  id: string;
  role: Role;
  name: string;
  subject: string | null;
  sites: string[] | null;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  maxReservations: number | null;
  /** Who created it: `token:<id>` (through the API), `cli`, … */
  createdBy: string | null;
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
   * A token (shown once). A producer's or driver's speaks for its `subject`; an integration's
   * platform is its `subject`, its own id unless given, so a platform's second token sees what
   * the first created. Must be called inside or outside a transaction alike.
   */
  createToken(
    role: Role,
    name: string,
    actor: string,
    opts: TokenOptions = {},
  ): { id: string; token: string; role: Role; name: string } {
    const id = newId('T');
    const token = `casier_${newSecret()}`;
    const subject = opts.subject ?? (role === 'integration' ? id : null);
    const { parent } = opts;
    const sites = opts.sites ? [...new Set(opts.sites)].sort() : (parent?.sites ?? null);
    const expiresAt = opts.expiresAt ?? parent?.expiresAt ?? null;
    const now = this.now();
    if (expiresAt !== null && expiresAt <= now)
      throw new HubError('HUB_ERR_VALIDATION', 'expiresAt is in the past');
    // A stolen token must not leave behind a token that outlives it or reaches further.
    if (parent?.expiresAt != null && (expiresAt === null || expiresAt > parent.expiresAt))
      throw new HubError(
        'HUB_ERR_VALIDATION',
        `a token cannot outlive the token creating it (which expires ${new Date(parent.expiresAt).toISOString()})`,
      );
    if (parent?.sites && sites?.some((site) => !parent.sites?.includes(site)))
      throw new HubError('HUB_ERR_FORBIDDEN', 'a token cannot reach sites the token creating it cannot');
    this.db.transaction(() => {
      for (const site of sites ?? [])
        if (!cached(this.db, 'SELECT 1 FROM sites WHERE id = ?').get(site))
          throw new HubError('HUB_ERR_SITE_NOT_FOUND', `no site ${site}`);
      this.db
        .prepare(
          `INSERT INTO api_tokens (id, hash, role, name, created_at, subject, sites, expires_at, max_reservations, created_by)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          id,
          hashSecret(token),
          role,
          name,
          now,
          subject,
          sites && JSON.stringify(sites),
          expiresAt,
          opts.maxReservations ?? null,
          actor,
        );
      this.ledger.append({
        ts: now,
        type: 'token.created',
        actor,
        data: {
          id,
          role,
          name,
          subject,
          sites,
          expiresAt,
          maxReservations: opts.maxReservations ?? null,
        },
      });
    })();
    return { id, token, role, name };
  }

  /** Every token, newest first, revoked and expired ones included (the audit needs them). */
  listTokens(filter: { role?: Role; subject?: string } = {}): TokenView[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM api_tokens WHERE (@role IS NULL OR role = @role) AND (@subject IS NULL OR subject = @subject)
           ORDER BY created_at DESC, id DESC`,
      )
      .all({ role: filter.role ?? null, subject: filter.subject ?? null }) as TokenRow[];
    return rows.map(tokenView);
  }

  /**
   * Revokes a token: every request after this commit is refused, and the live feed closes its
   * connections within a second (live.ts checks them). `cascade`: the tokens it created through
   * the API too, and theirs (a stolen token's backdoors; a rotated one's are kept without it).
   * Revoking a revoked token revokes nothing more.
   */
  revokeToken(id: string, reason: string, actor: string, opts: { cascade?: boolean } = {}): TokenView {
    return this.db
      .transaction(() => {
        const row = cached(this.db, 'SELECT * FROM api_tokens WHERE id = ?').get(id) as TokenRow | undefined;
        if (!row) throw new HubError('HUB_ERR_NOT_FOUND', `no token ${id}`);
        const now = this.now();
        const ids = opts.cascade
          ? (cached(
              this.db,
              `WITH RECURSIVE tree(id) AS (SELECT ? UNION SELECT t.id FROM api_tokens t JOIN tree ON t.created_by = 'token:' || tree.id)
                 SELECT id FROM tree`,
              'pluck',
            ).all(id) as string[])
          : [id];
        for (const each of ids) {
          const changed = cached(
            this.db,
            'UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL',
          ).run(now, each).changes;
          if (changed)
            this.ledger.append({
              ts: now,
              type: 'token.revoked',
              actor,
              data: { id: each, reason, ...(each === id ? {} : { with: id }) },
            });
        }
        return tokenView(cached(this.db, 'SELECT * FROM api_tokens WHERE id = ?').get(id) as TokenRow);
      })
      .immediate();
  }

  /**
   * A producer and their token (shown once), which lists their parcels and receipts, nothing else.
   * `tenant`: the platform that created them, the only integration that may order parcels for them.
   */
  createProducer(
    name: string,
    actor: string,
    tenant: string | null = null,
    /** The token creating them, whose expiry theirs cannot pass. */
    parent?: TokenPrincipal,
  ): { id: string; name: string; token: string } {
    const id = newId('PR');
    return this.db
      .transaction(() => {
        const now = this.now();
        this.db
          .prepare('INSERT INTO producers (id, name, created_at, tenant) VALUES (?, ?, ?, ?)')
          .run(id, name, now, tenant);
        this.ledger.append({ ts: now, type: 'producer.created', actor, data: { id, name, tenant } });
        const { token } = this.createToken('producer', name, actor, {
          subject: id,
          expiresAt: parent?.expiresAt ?? null,
        });
        return { id, name, token };
      })
      .immediate();
  }

  /**
   * The principal behind a token, or null: unknown, revoked, expired, or a driver's whose driver
   * was deactivated or expired. A driver's token acts at its driver's sites.
   */
  authenticateToken(token: string): TokenPrincipal | null {
    // Revoking a token is a write: the memo forgets every answer then. Expiry is checked on each use.
    this.#tokens ??= new StoreMemo<TokenPrincipal | null>(this.db, 1000);
    const p = this.#tokens.get(token, () => {
      const row = cached(
        this.db,
        `SELECT t.*, d.sites AS driver_sites, d.expires_at AS driver_expires_at, d.active AS driver_active
           FROM api_tokens t LEFT JOIN drivers d ON t.role = 'driver' AND d.id = t.subject
           WHERE t.hash = ? AND t.revoked_at IS NULL`,
      ).get(hashSecret(token)) as
        | (TokenRow & {
            driver_sites: string | null;
            driver_expires_at: number | null;
            driver_active: number | null;
          })
        | undefined;
      if (!row) return null;
      if (row.role !== 'driver') return principalOf(row, row.sites, row.expires_at);
      if (row.driver_active !== 1) return null;
      // A driver from before rounds existed has none until an operator gives one: no site at all.
      return principalOf(row, row.driver_sites ?? '[]', earliest(row.expires_at, row.driver_expires_at));
    });
    return p && (p.expiresAt === null || this.now() < p.expiresAt) ? p : null;
  }

  #tokens: StoreMemo<TokenPrincipal | null> | undefined;
}

interface TokenRow {
  id: string;
  role: Role;
  name: string;
  subject: string | null;
  sites: string | null;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  max_reservations: number | null;
  created_by: string | null;
}

const tokenView = (r: TokenRow): TokenView => ({
  id: r.id,
  role: r.role,
  name: r.name,
  subject: r.subject,
  sites: r.sites === null ? null : (JSON.parse(r.sites) as string[]),
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  maxReservations: r.max_reservations,
  createdBy: r.created_by,
});

const principalOf = (r: TokenRow, sites: string | null, expiresAt: number | null): TokenPrincipal => ({
  id: r.id,
  role: r.role,
  name: r.name,
  subject: r.subject,
  sites: sites === null ? null : Object.freeze(JSON.parse(sites) as string[]),
  expiresAt,
  maxReservations: r.max_reservations,
});

const earliest = (a: number | null, b: number | null): number | null =>
  a === null ? b : b === null ? a : Math.min(a, b);
