/** The parcel state table: which states hold goods, which moves each allows, and holds. */
import { describe, expect, it } from 'vitest';
import {
  GOODS,
  PARCEL_STATES,
  type ParcelState,
  ParcelStates,
  TRANSITIONS,
  type TransitionName,
} from '../../hub/domain/parcel-states.ts';

const allowed = (name: TransitionName) => PARCEL_STATES.filter((s) => ParcelStates.allows(name, s));

describe('the parcel state table', () => {
  it('quarantines every state whose goods can be in a compartment, except those already held', () => {
    const withGoods = PARCEL_STATES.filter((s) => GOODS[s] !== 'none');
    expect(allowed('quarantine').sort()).toEqual(
      withGoods.filter((s) => s !== 'quarantined' && s !== 'discarded').sort(),
    );
  });

  it.each<[TransitionName, ParcelState[]]>([
    ['deposit', ['reserved']],
    ['collect', ['stored', 'expired']],
    ['deliver', ['in_transit']],
    ['pickup', ['stored', 'ready']],
    ['takeBack', ['returned']],
    ['expireDeposit', ['reserved']],
    ['expirePickup', ['stored', 'ready']],
    ['cancel', ['reserved']],
    ['release', ['quarantined']],
    ['discard', ['quarantined']],
    ['retrieveDiscarded', ['discarded']],
  ])('%s moves a parcel only from %j', (name, from) => {
    expect(allowed(name).sort()).toEqual([...from].sort());
  });

  it('lets a held parcel finish the move whose door was already open, nothing that starts later', () => {
    expect(ParcelStates.allows('deposit', 'quarantined', 'reserved')).toBe(true);
    expect(ParcelStates.allows('deliver', 'quarantined', 'in_transit')).toBe(true);
    expect(ParcelStates.allows('deposit', 'quarantined', 'stored')).toBe(false);
    // The goods left through a door opened before the breach: recorded, never lost from the books
    // (the keypad and the driver's round refuse held parcels before any door opens).
    expect(ParcelStates.allows('pickup', 'quarantined', 'stored')).toBe(true);
    expect(ParcelStates.allows('collect', 'quarantined', 'stored')).toBe(true);
    expect(ParcelStates.allows('pickup', 'quarantined', 'reserved')).toBe(false);
    expect(ParcelStates.pickupOf('quarantined', 'returned')).toBe('takeBack');
    expect(ParcelStates.pickupOf('returned')).toBe('takeBack');
    expect(ParcelStates.pickupOf('ready')).toBe('pickup');
    expect(ParcelStates.pickupOf('retrieved_by_producer')).toBeNull();
    expect(ParcelStates.allows('expirePickup', 'quarantined', 'ready')).toBe(false);
    // An operator may still take held goods out.
    expect(ParcelStates.allows('retrieve', 'quarantined')).toBe(true);
  });

  it('frees the compartment on exactly the moves that take the goods out, or never let them in', () => {
    const frees = (Object.keys(TRANSITIONS) as TransitionName[]).filter(
      (n) => (TRANSITIONS[n] as { free?: boolean }).free,
    );
    expect(frees.sort()).toEqual(
      ['cancel', 'collect', 'expireDeposit', 'pickup', 'retrieve', 'retrieveDiscarded', 'takeBack'].sort(),
    );
  });
});
