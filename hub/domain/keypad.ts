/**
 * What a code typed at a cabinet's keypad does: a pure function of the facts `LockerEvents` gathers
 * (the code's row, the driver it belongs to, the door's pending operation, the parcel's state,
 * the keypad's brake, the hub's clock). No store, no clock, no I/O: `LockerEvents` applies the
 * decision. docs/protocol.md §3 is the contract; test/hub/keypad.test.ts its truth table.
 */
import {
  afterFailure,
  afterSuccess,
  type Brake,
  CABINET_BRAKE,
  FORGIVEN_BY_A_CODE,
  lockedFor,
  type MessageKey,
  type Phrase,
  SITE_BRAKE,
} from '../../devices/index.ts';
import type { CodeKind, CodeRow } from './codes.ts';

/** A keypad entry older than this when it reaches the hub opens nothing. */
export const STALE_KEYPAD_MS = 60_000;

export type RefuseReason =
  | 'unknown'
  | 'wrong_locker'
  | 'not_yet_valid'
  | 'used'
  | 'expired'
  | 'revoked'
  | 'throttled'
  | 'parcel_state'
  | 'quarantined'
  | 'busy'
  | 'stale';

export interface KeypadFacts {
  /** The hub's clock. */
  now: number;
  /** The cabinet the code was typed at. */
  lockerId: string;
  /** When it was typed, on the cabinet's clock. */
  typedAt: number;
  /** This cabinet's keypad brake; none while no wrong code is counted. */
  brake: Brake | undefined;
  /** The brake of the cabinet's site, all its keypads together. */
  siteBrake: Brake | undefined;
  /** The code row the typed code's hash names (a live one first), if any. */
  code: CodeRow | undefined;
  /** The active driver whose code it is, if any. */
  driver: { id: string; name: string } | undefined;
  /** The operation in progress on the code's door, if the code has a row. */
  door: { pendingAction: string | null; parcelId: string | null; opened: boolean } | undefined;
  /** The state of the code's parcel, if the code has a row. */
  parcelState: string | undefined;
}

/** The brakes after a decision (the same objects when unchanged). */
interface Brakes {
  brake: Brake | undefined;
  siteBrake: Brake | undefined;
}

export type KeypadDecision =
  /** Release the code's door; `again`: the code is already used, for this door that never opened. */
  | ({ kind: 'open'; code: CodeRow; again: boolean; display: Phrase } & Brakes)
  /** A driver is at the cabinet (transit.ts opens their doors). */
  | ({ kind: 'driver'; driver: { id: string; name: string } } & Brakes)
  /** Nothing opens; `display` is what the keypad shows (none: nobody is there to read it). */
  | ({
      kind: 'refuse';
      reason: RefuseReason;
      code: CodeRow | undefined;
      display: Phrase | null;
      /** The lockout this refusal started (the longer of the cabinet's and the site's). */
      lockoutMs: number;
      /** The site's brake started a lockout: someone is going from keypad to keypad. */
      siteLockout: boolean;
    } & Brakes);

/** The parcel states in which each kind of code opens its door. */
const OPENS_IN: Record<CodeKind, readonly string[]> = {
  deposit: ['reserved'],
  pickup: ['stored', 'ready', 'returned'],
};

/** The keypad tells why only where the person can do something about it. */
const DISPLAY: Partial<Record<RefuseReason, MessageKey>> = {
  throttled: 'keypad.throttled',
  expired: 'keypad.expired',
  not_yet_valid: 'keypad.not_yet_valid',
  // The customer is told why, without details: the operator has them.
  quarantined: 'keypad.quarantined',
};

export function decide(f: KeypadFacts): KeypadDecision {
  const kept: Brakes = { brake: f.brake, siteBrake: f.siteBrake };
  if (f.now - f.typedAt > STALE_KEYPAD_MS) {
    // Typed long ago and delivered late (a backlog after an outage): whoever typed it has left,
    // and a door must not open for nobody. Nobody guessed anything now: the brake stays as it is.
    return {
      kind: 'refuse',
      reason: 'stale',
      code: f.code,
      display: null,
      ...kept,
      lockoutMs: 0,
      siteLockout: false,
    };
  }
  const refuse = (reason: RefuseReason): KeypadDecision => {
    // Every refusal counts, one typed while locked too: hammering the keypad lengthens the lockout.
    const cabinet = afterFailure(f.brake, f.now, CABINET_BRAKE);
    const site = afterFailure(f.siteBrake, f.now, SITE_BRAKE);
    const display: Phrase = { key: DISPLAY[reason] ?? 'keypad.invalid' };
    return {
      kind: 'refuse',
      reason,
      code: f.code,
      display,
      brake: cabinet.brake,
      siteBrake: site.brake,
      lockoutMs: Math.max(cabinet.wait, site.wait),
      siteLockout: site.wait > 0,
    };
  };
  if (lockedFor(f.brake, f.now) > 0 || lockedFor(f.siteBrake, f.now) > 0) return refuse('throttled');
  // No live code shares a driver's value (codes.ts, transit.ts): a row beside it is a dead code.
  if (f.driver) return { kind: 'driver', driver: f.driver, ...kept };
  const c = f.code;
  if (!c) return refuse('unknown');
  if (c.locker_id !== f.lockerId) return refuse('wrong_locker');
  let again = false;
  switch (c.state) {
    case 'pending':
      return refuse('not_yet_valid');
    case 'used':
      // The code released its door, but the door never opened (the person was slow, the latch
      // dropped back): the same code releases the same door again until the door opens.
      again = f.door?.pendingAction === c.kind && f.door.parcelId === c.parcel_id && !f.door.opened;
      if (!again) return refuse('used');
      break;
    case 'revoked':
    case 'expired':
      return refuse(c.state);
    case 'active':
      if (c.not_before !== null && f.now < c.not_before) return refuse('not_yet_valid');
      if (c.expires_at !== null && f.now >= c.expires_at) return refuse('expired');
      break;
  }
  if (f.parcelState === 'quarantined') return refuse('quarantined');
  if (!OPENS_IN[c.kind].includes(f.parcelState as string)) return refuse('parcel_state');
  // A code opens its parcel's door only while that door holds its parcel: goods taken out by an
  // operator, the door given to another parcel since, and an old code would open someone else's.
  if (f.door && f.door.parcelId !== c.parcel_id) return refuse('parcel_state');
  if (!again && f.door?.pendingAction) {
    // A valid code, its door opened for something else meanwhile (an operator, a driver): nothing
    // opens until that is over, and nobody guessed anything, so the brake stays as it is.
    return {
      kind: 'refuse',
      reason: 'busy',
      code: c,
      display: { key: 'keypad.busy' },
      ...kept,
      lockoutMs: 0,
      siteLockout: false,
    };
  }
  // A valid code does not wipe the count: its first use forgives the holder's few mistypes; a
  // code opening its door again (it never opened) forgives nothing, or it would be a reset key.
  const forgive = again ? 0 : FORGIVEN_BY_A_CODE;
  return {
    kind: 'open',
    code: c,
    again,
    display: { key: 'keypad.door_open', values: { door: c.door } },
    brake: forgive ? afterSuccess(f.brake, f.now, forgive, CABINET_BRAKE) : f.brake,
    siteBrake: forgive ? afterSuccess(f.siteBrake, f.now, forgive, SITE_BRAKE) : f.siteBrake,
  };
}
