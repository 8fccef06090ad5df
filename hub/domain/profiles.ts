/**
 * Cabinet profiles as the hub knows them: those an installer added from a file (`casier device
 * add --profile ./my-cabinet.json`), kept in the store so the hub draws, allocates and checks
 * sensors for a cabinet of their own as for any other, and the built-in ones. A stored profile
 * wins over a built-in one of the same name (one added later to casier): a cabinet keeps meaning
 * what it was provisioned as.
 */
import { findProfile, type LockerProfile, lockerProfile } from '../../devices/index.ts';
import type { Ledger } from '../db/ledger.ts';
import { cached, type Db } from '../db/open.ts';
import { HubError } from '../errors.ts';

const known = new WeakMap<Db, Map<string, LockerProfile | null>>();

/**
 * A profile by name: added to this store, or built-in; undefined when neither, or when the stored
 * one no longer reads (a store edited by hand, a schema changed since): the hub then treats the
 * cabinet as of an unknown profile (drawn without layout, every sensor accepted) rather than fail
 * on each of its messages.
 */
export function lookupProfile(db: Db, name: string): LockerProfile | undefined {
  const cache = known.get(db) ?? new Map<string, LockerProfile | null>();
  known.set(db, cache);
  let profile = cache.get(name);
  if (profile === undefined) {
    const body = cached(db, 'SELECT body FROM profiles WHERE name = ?', 'pluck').get(name) as
      | string
      | undefined;
    if (body === undefined) profile = findProfile(name) ?? null;
    else {
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      const parsed = lockerProfile.safeParse(json);
      profile = parsed.success ? parsed.data : null;
    }
    cache.set(name, profile);
  }
  return profile ?? undefined;
}

/**
 * Adds an installer's profile (already checked with `parseProfile`). The same name again is
 * accepted only with the same content: cabinets provisioned with a profile keep meaning what they
 * were built as. Call it in the transaction that provisions the cabinet, so a cabinet refused
 * leaves no profile behind.
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
  known.get(db)?.delete(profile.name);
}
