/**
 * Cabinet profiles as the hub knows them: the built-in ones, and those an installer added from a
 * file (`casier device add --profile ./my-cabinet.json`), kept in the store so the hub draws,
 * allocates and checks sensors for a cabinet of their own as for any other.
 */
import { findProfile, type LockerProfile, lockerProfile } from '../../devices/index.ts';
import type { Ledger } from '../db/ledger.ts';
import { cached, type Db } from '../db/open.ts';
import { HubError } from '../errors.ts';

const stored = new WeakMap<Db, Map<string, LockerProfile>>();

/** A profile by name: built-in, or added to this store; undefined when neither. */
export function lookupProfile(db: Db, name: string): LockerProfile | undefined {
  const builtIn = findProfile(name);
  if (builtIn) return builtIn;
  const known = stored.get(db) ?? new Map<string, LockerProfile>();
  stored.set(db, known);
  let profile = known.get(name);
  if (!profile) {
    const body = cached(db, 'SELECT body FROM profiles WHERE name = ?', 'pluck').get(name) as
      | string
      | undefined;
    if (body === undefined) return undefined;
    profile = lockerProfile.parse(JSON.parse(body));
    known.set(name, profile);
  }
  return profile;
}

/**
 * Adds an installer's profile (already checked with `parseProfile`). The same name again is
 * accepted only with the same content: cabinets provisioned with a profile keep meaning what they
 * were built as.
 */
export function addProfile(db: Db, ledger: Ledger, profile: LockerProfile, actor: string, now: number): void {
  const body = JSON.stringify(profile);
  const existing = cached(db, 'SELECT body FROM profiles WHERE name = ?', 'pluck').get(profile.name) as
    | string
    | undefined;
  if (existing === body) return;
  if (existing !== undefined)
    throw new HubError(
      'HUB_ERR_PROFILE_EXISTS',
      `profile ${profile.name} already exists with other content: give the new one its own name`,
    );
  db.transaction(() => {
    db.prepare('INSERT INTO profiles (name, body, added_at) VALUES (?, ?, ?)').run(profile.name, body, now);
    ledger.append({
      ts: now,
      actor,
      type: 'profile.added',
      data: { name: profile.name, board: profile.board, doors: profile.compartments.length },
    });
  })();
}
