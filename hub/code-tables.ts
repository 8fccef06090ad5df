/**
 * Publishes each locker's offline code table (retained, docs/protocol.md §3.2) whenever its codes
 * change. SQLite triggers bump `lockers.codes_version` on every change of a code, whatever code
 * path made it; this loop publishes the lockers whose version moved past what was published.
 */
import type { Logger } from 'pino';
import { type CodesTable, OFFLINE_FORMAT, type OfflineCost } from '../devices/index.ts';
import type { Component } from './components.ts';
import type { Db } from './db/open.ts';
import type { Clocks } from './domain/clocks.ts';
import type { Voice } from './domain/voice.ts';
import type { Link } from './link.ts';

const EVERY_MS = 250;

interface CodeRow {
  offline_hash: string;
  door: number;
  kind: 'deposit' | 'pickup';
  state: string;
  not_before: number | null;
  expires_at: number | null;
  parcel_expires: number;
  deposit_hash: string | null;
  travels: number;
}

export class CodeTables implements Component {
  readonly name = 'code-tables';
  readonly everyMs = EVERY_MS;
  readonly #due;
  readonly #codes;
  readonly #published;
  readonly #republish;

  constructor(
    db: Db,
    private readonly link: Link,
    private readonly log: Logger,
    /** The scrypt cost the hashes were computed with (hub/offline-hashes.ts): the cabinet uses it too. */
    private readonly cost: OfflineCost,
    /** The cabinet checks a code's validity on its own clock: the table is on that clock. */
    private readonly clocks?: Clocks,
    /** The table says which language the keypad speaks offline: its site's. */
    private readonly voice?: Voice,
  ) {
    this.#due = db.prepare<[], { id: string; site_id: string; codes_version: number }>(
      'SELECT id, site_id, codes_version FROM lockers WHERE offline_key IS NOT NULL AND codes_version <> codes_published',
    );
    // Live codes, and pickup codes waiting for their deposit (valid offline once the deposit was
    // made there); none of a parcel held for temperature: offline, the bridge cannot tell it is held.
    // A code whose slow hash is not computed yet has no `offline_hash`: online only, for now.
    this.#codes = db.prepare<[string], CodeRow>(
      `SELECT c.offline_hash, c.door, c.kind, c.state, c.not_before, c.expires_at,
              p.deposit_expires_at + p.pickup_window_ms AS parcel_expires,
              (p.destination_locker_id IS NOT NULL OR p.destination_site_id IS NOT NULL) AS travels,
              (SELECT d.offline_hash FROM codes d WHERE d.parcel_id = c.parcel_id AND d.kind = 'deposit' AND d.state = 'active') AS deposit_hash
       FROM codes c JOIN parcels p ON p.id = c.parcel_id
       WHERE c.locker_id = ? AND c.offline_hash IS NOT NULL AND c.state IN ('active', 'pending')
         AND p.state <> 'quarantined'`,
    );
    this.#published = db.prepare('UPDATE lockers SET codes_published = ? WHERE id = ?');
    this.#republish = db.prepare('UPDATE lockers SET codes_published = -1 WHERE id = ?');
  }

  /**
   * A cabinet announced itself (connected, or its retained state replayed): its table goes again at
   * the next tick, whatever was published before. The broker's retained copy may be gone (a broker
   * restarted without persistence), and a new Pi holds none.
   */
  announced(lockerId: string): void {
    this.#republish.run(lockerId);
  }

  tick(): void {
    this.publishDue();
  }

  publishDue(): void {
    try {
      for (const l of this.#due.all()) {
        this.link.publish({ site: l.site_id, locker: l.id }, 'codes', this.table(l.id, l.codes_version), {
          qos: 1,
          retain: true,
        });
        this.#published.run(l.codes_version, l.id);
      }
    } catch (err) {
      this.log.error({ err }, 'publishing code tables failed');
    }
  }

  table(lockerId: string, version: number): CodesTable {
    const entries: CodesTable['entries'] = [];
    const offset = this.clocks?.offset(lockerId) ?? 0;
    const onItsClock = (t: number) => (t === 0 ? 0 : t - offset);
    for (const c of this.#codes.all(lockerId)) {
      if (c.state === 'active') {
        entries.push({
          h: c.offline_hash,
          doors: [c.door],
          kind: c.kind,
          notBefore: onItsClock(c.not_before ?? 0),
          expiresAt: onItsClock(c.expires_at ?? c.parcel_expires),
        });
      } else if (c.kind === 'pickup' && c.deposit_hash && !c.travels) {
        // (A travelling parcel is collected from here, never picked up here.)
        entries.push({
          h: c.offline_hash,
          doors: [c.door],
          kind: 'pickup',
          notBefore: 0,
          expiresAt: onItsClock(c.parcel_expires),
          after: c.deposit_hash,
        });
      }
    }
    return {
      version,
      format: OFFLINE_FORMAT,
      cost: this.cost,
      language: this.voice?.languageOf(lockerId),
      entries,
    };
  }
}
