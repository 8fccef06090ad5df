import { describe, expect, it } from 'vitest';
import { BASE_MS, type Brake, FORGIVEN_BY_A_CODE, FREE_FAILURES, say } from '../../devices/index.ts';
import type { CodeRow } from '../../hub/domain/codes.ts';
import { decide, type KeypadFacts, STALE_KEYPAD_MS } from '../../hub/domain/keypad.ts';

const now = 1_700_000_000_000;
const code = (over: Partial<CodeRow> = {}): CodeRow => ({
  id: 1,
  hash: 'h',
  parcel_id: 'P-1',
  locker_id: 'box-1',
  door: 3,
  kind: 'deposit',
  state: 'active',
  not_before: null,
  expires_at: now + 60_000,
  used_at: null,
  ...over,
});
const pickup = (over: Partial<CodeRow> = {}) => code({ kind: 'pickup', ...over });
const used = (over: Partial<CodeRow> = {}) => code({ state: 'used', used_at: now - 5_000, ...over });
const yann = { id: 'DR-1', name: 'Yann' };
/** The door of the code, released for it and not opened yet. */
const releasedFor = (kind: string, parcelId = 'P-1') => ({ pendingAction: kind, parcelId, opened: false });
const free = { pendingAction: null, parcelId: 'P-1', opened: false };
const locked: Brake = { failures: FREE_FAILURES + 1, at: now, blockedUntil: now + 1 };
const spent: Brake = { failures: FREE_FAILURES + 1, at: now, blockedUntil: now };

const facts = (over: Partial<KeypadFacts>): KeypadFacts => ({
  now,
  lockerId: 'box-1',
  typedAt: now - 1_000,
  brake: undefined,
  siteBrake: undefined,
  code: undefined,
  driver: undefined,
  door: free,
  parcelState: 'reserved',
  ...over,
});

/** What the keypad shows for a decision, in English. */
const shown = (d: ReturnType<typeof decide>) =>
  'display' in d && d.display ? say('en', d.display.key, d.display.values) : null;

describe('the keypad decision', () => {
  it.each<[string, Partial<KeypadFacts>, string]>([
    ['no code has this value', {}, 'unknown'],
    ['the code is another locker’s', { code: code({ locker_id: 'town-1' }) }, 'wrong_locker'],
    [
      'a pickup code before the deposit',
      { code: pickup({ state: 'pending', expires_at: null }) },
      'not_yet_valid',
    ],
    ['a code valid from later', { code: code({ not_before: now + 1 }) }, 'not_yet_valid'],
    ['a used code', { code: used() }, 'used'],
    [
      'a used code whose door opened',
      { code: used(), door: { ...releasedFor('deposit'), opened: true } },
      'used',
    ],
    [
      'a used code, its door released for something else',
      { code: used(), door: releasedFor('operator') },
      'used',
    ],
    [
      'a used code, its door released for another parcel',
      { code: used(), door: releasedFor('deposit', 'P-2') },
      'used',
    ],
    ['a used code, its door closed and free', { code: used(), door: free }, 'used'],
    ['a revoked code', { code: code({ state: 'revoked' }) }, 'revoked'],
    ['an expired code', { code: code({ state: 'expired' }) }, 'expired'],
    ['an active code past its deadline', { code: code({ expires_at: now - 1 }) }, 'expired'],
    ['an active code at its deadline', { code: code({ expires_at: now }) }, 'expired'],
    ['a deposit code, the parcel quarantined', { code: code(), parcelState: 'quarantined' }, 'quarantined'],
    ['a pickup code, the parcel quarantined', { code: pickup(), parcelState: 'quarantined' }, 'quarantined'],
    ['a deposit code, the parcel already stored', { code: code(), parcelState: 'stored' }, 'parcel_state'],
    ['a deposit code, the parcel cancelled', { code: code(), parcelState: 'cancelled' }, 'parcel_state'],
    ['a pickup code, the parcel reserved', { code: pickup(), parcelState: 'reserved' }, 'parcel_state'],
    ['a pickup code, the parcel in transit', { code: pickup(), parcelState: 'in_transit' }, 'parcel_state'],
    ['a pickup code, the parcel picked up', { code: pickup(), parcelState: 'picked_up' }, 'parcel_state'],
    ['a pickup code, the parcel expired', { code: pickup(), parcelState: 'expired' }, 'parcel_state'],
    ['a pickup code, the parcel discarded', { code: pickup(), parcelState: 'discarded' }, 'parcel_state'],
    ['a code whose parcel is gone', { code: code(), parcelState: undefined }, 'parcel_state'],
    ['a valid code while the keypad is locked', { code: code(), brake: locked }, 'throttled'],
    ['a driver’s code while the keypad is locked', { driver: yann, brake: locked }, 'throttled'],
    [
      'a code that opened its door again, while locked',
      { code: used(), door: releasedFor('deposit'), brake: locked },
      'throttled',
    ],
    [
      'a valid code, its door opened for an operator',
      { code: code(), door: releasedFor('operator') },
      'busy',
    ],
    [
      'a pickup code, its door opened for a driver',
      { code: pickup(), parcelState: 'stored', door: releasedFor('collect') },
      'busy',
    ],
    ['a valid code typed long ago', { code: code(), typedAt: now - STALE_KEYPAD_MS - 1 }, 'stale'],
    ['a driver’s code typed long ago', { driver: yann, typedAt: now - STALE_KEYPAD_MS - 1 }, 'stale'],
  ])('refuses %s: %s', (_, f, reason) => {
    const d = decide(facts(f));
    expect(d).toMatchObject({ kind: 'refuse', reason });
  });

  it.each<[string, Partial<KeypadFacts>, boolean]>([
    ['an active deposit code, the parcel reserved', { code: code() }, false],
    ['an active code valid from now', { code: code({ not_before: now }) }, false],
    ['an active code without a deadline', { code: code({ expires_at: null }) }, false],
    ['a pickup code, the parcel stored', { code: pickup(), parcelState: 'stored' }, false],
    ['a pickup code, the parcel ready at its destination', { code: pickup(), parcelState: 'ready' }, false],
    ['a return code, the parcel back at its origin', { code: pickup(), parcelState: 'returned' }, false],
    [
      'a used deposit code, its door released for it and not opened',
      { code: used(), door: releasedFor('deposit') },
      true,
    ],
    [
      'a used pickup code, its door released for it and not opened',
      { code: used({ kind: 'pickup' }), door: releasedFor('pickup'), parcelState: 'stored' },
      true,
    ],
    ['a valid code after a lockout ended', { code: code(), brake: spent }, false],
    ['a valid code typed just within the delay', { code: code(), typedAt: now - STALE_KEYPAD_MS }, false],
  ])('opens the door for %s', (_, f, again) => {
    const d = decide(facts(f));
    expect(d).toMatchObject({ kind: 'open', again });
    expect(shown(d)).toBe('Door 3 open');
    expect(d.kind === 'open' && d.code).toBe(f.code);
  });

  it.each<[string, Partial<KeypadFacts>]>([
    ['a driver’s code', { driver: yann }],
    [
      'a driver’s code after wrong ones',
      { driver: yann, brake: { failures: FREE_FAILURES, at: now, blockedUntil: 0 } },
    ],
    // A dead code that happened to have the same value does not lock the driver out.
    ['a driver’s code that a used code once had', { driver: yann, code: used() }],
    [
      'a driver’s code that an expired code of another locker had',
      { driver: yann, code: code({ locker_id: 'town-1', state: 'expired' }) },
    ],
  ])('lets the driver in for %s', (_, f) => {
    expect(decide(facts(f))).toMatchObject({ kind: 'driver', driver: yann, brake: f.brake });
  });
});

describe('the keypad brake, as the decision applies it', () => {
  it('lets the first wrong codes pass free, then locks for a delay that grows', () => {
    let brake: Brake | undefined;
    const lockouts: number[] = [];
    let t = now;
    for (let i = 0; i < FREE_FAILURES + 3; i++) {
      const d = decide(facts({ now: t, typedAt: t, brake }));
      if (d.kind !== 'refuse') throw new Error(`refusal expected, got ${d.kind}`);
      expect(d.reason).toBe('unknown');
      lockouts.push(d.lockoutMs);
      brake = d.brake;
      t += d.lockoutMs;
    }
    expect(lockouts).toEqual([0, 0, 0, 0, 0, BASE_MS, 2 * BASE_MS, 4 * BASE_MS]);
    // The lockouts let the score decay a little: 3.5 min at one failure per 10 min.
    expect(brake?.failures).toBeCloseTo(FREE_FAILURES + 3 - (t - now - 4 * BASE_MS) / 600_000, 6);
    expect(brake?.blockedUntil).toBe(t);
  });

  it('opens nothing for a live code whose door no longer holds its parcel', () => {
    // Its goods taken out by an operator and the door given to another parcel since: a code that
    // outlived that must not open someone else's goods.
    for (const door of [
      { ...free, parcelId: 'P-2' },
      { ...free, parcelId: null },
    ]) {
      const d = decide(facts({ code: pickup(), parcelState: 'stored', door }));
      expect(d).toMatchObject({ kind: 'refuse', reason: 'parcel_state' });
    }
  });

  it('counts a code typed while locked, lengthening the lockout', () => {
    const d = decide(facts({ code: code(), brake: locked }));
    expect(shown(d)).toBe('Too many attempts, wait');
    expect(d).toMatchObject({
      kind: 'refuse',
      reason: 'throttled',
      brake: { failures: FREE_FAILURES + 2, at: now, blockedUntil: now + 2 * BASE_MS },
      lockoutMs: 2 * BASE_MS,
    });
  });

  it('forgives the mistypes just before a code’s first use, not more; a code opening again forgives nothing', () => {
    const brake = { failures: 3, at: now, blockedUntil: 0 };
    expect(decide(facts({ code: code(), brake })).brake).toBeUndefined();
    const many = { failures: FREE_FAILURES + 2, at: now, blockedUntil: 0 };
    expect(decide(facts({ code: code(), brake: many })).brake?.failures).toBe(
      FREE_FAILURES + 2 - FORGIVEN_BY_A_CODE,
    );
    // The bypass: a code whose door never opened opens it again, and used to wipe the count.
    const again = decide(facts({ code: used(), door: releasedFor('deposit'), brake: many, siteBrake: many }));
    expect(again).toMatchObject({ kind: 'open', again: true });
    expect(again.brake).toBe(many);
    expect(again.siteBrake).toBe(many);
    expect(decide(facts({ driver: yann, brake })).brake).toBe(brake);
  });

  it('locks every keypad of the site once the site’s brake locks, whatever the cabinet’s says', () => {
    const site: Brake = { failures: 30, at: now, blockedUntil: now + 60_000 };
    expect(decide(facts({ code: code(), siteBrake: site }))).toMatchObject({
      kind: 'refuse',
      reason: 'throttled',
    });
  });

  it('leaves the brake as it was for an entry typed long ago, and shows nothing: nobody is there', () => {
    const d = decide(facts({ brake: locked, typedAt: now - STALE_KEYPAD_MS - 1 }));
    expect(d).toMatchObject({ kind: 'refuse', reason: 'stale', display: null, lockoutMs: 0 });
    expect(d.brake).toBe(locked);
  });

  it('counts no failure for a valid code whose door is busy: nobody guessed anything', () => {
    const d = decide(
      facts({
        code: code(),
        door: releasedFor('operator'),
        brake: { failures: 4, at: now, blockedUntil: 0 },
      }),
    );
    expect(d).toMatchObject({ kind: 'refuse', reason: 'busy', lockoutMs: 0, brake: { failures: 4 } });
  });

  it.each([
    ['unknown', 'Invalid code', {}],
    ['wrong_locker', 'Invalid code', { code: code({ locker_id: 'town-1' }) }],
    ['used', 'Invalid code', { code: used() }],
    ['revoked', 'Invalid code', { code: code({ state: 'revoked' }) }],
    ['parcel_state', 'Invalid code', { code: code(), parcelState: 'stored' }],
    ['expired', 'Code expired', { code: code({ state: 'expired' }) }],
    ['not_yet_valid', 'Code not valid yet', { code: code({ not_before: now + 1 }) }],
    ['quarantined', 'Parcel held: temperature', { code: pickup(), parcelState: 'quarantined' }],
    ['busy', 'Door in use, try again', { code: code(), door: releasedFor('operator') }],
  ] as const)('shows %s as "%s"', (reason, display, f) => {
    const d = decide(facts(f));
    expect(d).toMatchObject({ kind: 'refuse', reason });
    expect(shown(d)).toBe(display);
  });
});
