/**
 * A parcel's states and every transition between them, in one table: from which states, to which,
 * who causes it, what it does to the parcel's codes and compartment, and the ledger entry it
 * writes. `ParcelStates.move` is the only code that changes a parcel's state; it runs inside the
 * caller's transaction, so a change and its ledger entry commit together.
 *
 * Where the goods are is part of each state: the cold chain watches every parcel whose goods are
 * in a compartment, whatever its state, so a state added here cannot escape quarantine.
 */
import { PARCEL_STATES, type ParcelState } from '../../devices/api.ts';
import type { Ledger } from '../db/ledger.ts';
import { cached, type Db } from '../db/open.ts';
import { HubError } from '../errors.ts';
import { endCodes } from './codes.ts';
import { Compartments } from './compartments.ts';

// The states are part of the API's contract (devices/api.ts): the dashboard and webhooks read them.
export { PARCEL_STATES, type ParcelState };

/**
 * Where the goods of a parcel in each state are, when its compartment (`compartments.parcel_id`)
 * names it: `inside`; `opened` once the door opened for the operation in progress (a deposit, a
 * delivery: the goods go in before the door closes); `none` (the compartment never names it).
 */
export const GOODS: Record<ParcelState, 'inside' | 'opened' | 'none'> = {
  reserved: 'opened',
  stored: 'inside',
  in_transit: 'opened',
  ready: 'inside',
  picked_up: 'none',
  // A parcel expired uncollected keeps its compartment (one never deposited frees it).
  expired: 'inside',
  cancelled: 'none',
  quarantined: 'inside',
  discarded: 'inside',
  // Homebound at its origin, or taken out by an operator (which frees the compartment).
  returned: 'inside',
  // Its producer took it back out of the box.
  retrieved_by_producer: 'none',
};

const statesWhere = (goods: 'inside' | 'opened') =>
  PARCEL_STATES.filter((s) => GOODS[s] === goods)
    .map((s) => `'${s}'`)
    .join(', ');

/**
 * SQL: the goods of parcel `p` are in compartment `c` (joined on `c.parcel_id = p.id`). Derived
 * from `GOODS`, for the queries that find what a compartment holds.
 */
export function goodsInside(p = 'p', c = 'c'): string {
  // 'opened': the door has opened for the move that puts the goods in (an operator's open of a
  // reserved door puts nothing in).
  return `(${p}.state IN (${statesWhere('inside')}) OR (${p}.state IN (${statesWhere('opened')}) AND ${c}.pending_opened = 1 AND ${c}.pending_action IN ('deposit', 'deliver')))`;
}

type Actor = 'producer' | 'customer' | 'driver' | 'operator' | 'integration' | 'hub';

interface Transition {
  from: readonly ParcelState[];
  /** `held`: back to the state the parcel was in (or reached) while quarantined. */
  to: ParcelState | 'held';
  by: Actor;
  ledger: string;
  /** The column stamped with the time of the move. */
  stamp?: 'stored_at' | 'ready_at' | 'picked_up_at' | 'in_transit_at';
  /** What happens to its codes still pending or active. */
  codes?: 'expired' | 'revoked';
  /** The compartment no longer holds it. */
  free?: boolean;
}

const GOODS_IN = PARCEL_STATES.filter((s) => GOODS[s] !== 'none' && s !== 'quarantined' && s !== 'discarded');

export const TRANSITIONS = {
  /** The producer closed the door on the goods. */
  deposit: { from: ['reserved'], to: 'stored', by: 'producer', ledger: 'parcel.stored', stamp: 'stored_at' },
  /** A driver took it out at its origin (or, expired, to bring it home). */
  collect: {
    from: ['stored', 'expired'],
    to: 'in_transit',
    by: 'driver',
    ledger: 'parcel.in_transit',
    stamp: 'in_transit_at',
    free: true,
  },
  /** A driver closed the door on it at its destination. */
  deliver: { from: ['in_transit'], to: 'ready', by: 'driver', ledger: 'parcel.ready', stamp: 'ready_at' },
  /** A driver brought it back to its origin: the producer takes it out. */
  bringBack: { from: ['in_transit'], to: 'returned', by: 'driver', ledger: 'parcel.returned' },
  /**
   * Its platform sent it elsewhere while it waited, ready, for its customer: waiting again for a
   * driver to collect it (its pickup code waits too, for the new door). The goods stay in.
   */
  redirect: { from: ['ready'], to: 'stored', by: 'integration', ledger: 'parcel.rerouted' },
  /** The customer closed the door behind them. */
  pickup: {
    from: ['stored', 'ready'],
    to: 'picked_up',
    by: 'customer',
    ledger: 'parcel.picked_up',
    stamp: 'picked_up_at',
    free: true,
  },
  /**
   * Its producer closed the door behind them, the goods brought back to their box taken out with
   * their return code: no customer collected anything.
   */
  takeBack: {
    from: ['returned'],
    to: 'retrieved_by_producer',
    by: 'producer',
    ledger: 'parcel.retrieved_by_producer',
    free: true,
  },
  /** Never deposited by its deadline. */
  expireDeposit: {
    from: ['reserved'],
    to: 'expired',
    by: 'hub',
    ledger: 'parcel.expired',
    codes: 'expired',
    free: true,
  },
  /** Not collected by its deadline: the goods stay in until someone takes them out. */
  expirePickup: {
    from: ['stored', 'ready'],
    to: 'expired',
    by: 'hub',
    ledger: 'parcel.expired',
    codes: 'expired',
  },
  /** The ordering platform withdrew it before the goods went in. */
  cancel: {
    from: ['reserved'],
    to: 'cancelled',
    by: 'integration',
    ledger: 'parcel.cancelled',
    codes: 'revoked',
    free: true,
  },
  /** The cold chain was breached with the goods inside: held, its codes open nothing. */
  quarantine: { from: GOODS_IN, to: 'quarantined', by: 'hub', ledger: 'parcel.quarantined' },
  /** Readings that came late, judged in their order, give no breach: back to where it was. */
  unhold: { from: ['quarantined'], to: 'held', by: 'hub', ledger: 'parcel.quarantine_withdrawn' },
  /** An operator judged the goods fit: back to where it was. */
  release: { from: ['quarantined'], to: 'held', by: 'operator', ledger: 'parcel.released' },
  /** An operator judged the goods unfit: never collected. */
  discard: {
    from: ['quarantined'],
    to: 'discarded',
    by: 'operator',
    ledger: 'parcel.discarded',
    codes: 'revoked',
  },
  /** An operator took the goods out, whatever its state. */
  retrieve: {
    from: [...GOODS_IN, 'quarantined'],
    to: 'returned',
    by: 'operator',
    ledger: 'parcel.returned',
    codes: 'revoked',
    free: true,
  },
  /** Discarded goods taken out stay discarded. */
  retrieveDiscarded: {
    from: ['discarded'],
    to: 'discarded',
    by: 'operator',
    ledger: 'parcel.returned',
    codes: 'revoked',
    free: true,
  },
} as const satisfies Record<string, Transition>;

export type TransitionName = keyof typeof TRANSITIONS;

/**
 * What a parcel's ledger entry did with its goods: put them into the entry's compartment (a
 * deposit, a delivery, a return to the origin box), took them out (a collection, a pickup, an
 * operator's retrieval), or neither. The temperature record draws the parcel's stays from it.
 */
export function goodsMoved(type: string, data: { from?: unknown }): 'in' | 'out' | null {
  switch (type) {
    case 'parcel.stored':
    case 'parcel.ready':
      return 'in';
    case 'parcel.returned':
      // Brought back by a driver, or (with `from`) taken out by an operator: both are `returned`.
      return data.from === undefined ? 'in' : 'out';
    case 'parcel.in_transit':
    case 'parcel.picked_up':
    case 'parcel.retrieved_by_producer':
      return 'out';
    default:
      return null;
  }
}

/** The ledger types `goodsMoved` reads, as an SQL list: for the queries that follow a parcel's goods. */
export const GOODS_MOVES_SQL = `('parcel.stored', 'parcel.ready', 'parcel.returned', 'parcel.in_transit', 'parcel.picked_up', 'parcel.retrieved_by_producer')`;

/**
 * What a quarantined parcel still goes through: the doors that close after the breach on a move
 * already under way. A deposit or delivery completes and the parcel stays held; so does a
 * collection (the driver took the goods: held in the van, and held at its destination). A pickup
 * completes too (the customer left with the goods: nothing is left to hold), its ledger entry
 * marked `held` for an operator. Releasing returns a held parcel to where these led; everything
 * else (its deadline, a new code) waits for an operator's decision.
 */
const PASSES_HOLD: ReadonlySet<TransitionName> = new Set([
  'deposit',
  'deliver',
  'bringBack',
  'collect',
  'pickup',
  'takeBack',
]);
/** Of those, the ones after which there is nothing left to hold. */
const ENDS_HOLD: ReadonlySet<TransitionName> = new Set(['pickup', 'takeBack']);

export interface Move {
  /** Who, as the ledger records it (`device:box-1`, `token:…`, `hub`). */
  actor: string;
  at: number;
  /** Door and locker of the ledger entry, when not the parcel's own. */
  lockerId?: string;
  door?: number;
  data?: Record<string, unknown>;
  /** Columns set with the move (custody, breach details, where it now is). */
  set?: Partial<
    Record<
      | 'custody'
      | 'breached_at'
      | 'breach_reason'
      | 'excused_ms'
      | 'homebound'
      | 'destination_locker_id'
      | 'destination_site_id'
      | 'ready_at',
      string | number | null
    >
  >;
}

interface Row {
  id: string;
  state: ParcelState;
  locker_id: string;
  door: number;
  held_from: ParcelState | null;
}

export class ParcelStates {
  readonly #compartments: Compartments;

  constructor(
    private readonly db: Db,
    private readonly ledger: Ledger,
  ) {
    this.#compartments = new Compartments(db);
  }

  /**
   * A breach learnt after the parcel left its compartment (readings replayed late): nothing is
   * left to hold, its state stays; its record says breached, and the ledger tells an operator.
   */
  breachedAfterLeaving(parcelId: string, m: Move & { data: { reason: string; at: number } }): void {
    const n = cached(
      this.db,
      'UPDATE parcels SET breached_at = ?, breach_reason = ? WHERE id = ? AND breached_at IS NULL',
    ).run(m.data.at, m.data.reason, parcelId).changes;
    if (!n) return;
    const p = this.#get(parcelId) as Row;
    this.ledger.append({
      ts: m.at,
      type: 'parcel.breached',
      actor: m.actor,
      lockerId: m.lockerId ?? p.locker_id,
      door: m.door ?? p.door,
      parcelId,
      data: { ...m.data, state: p.state },
    });
  }

  /** Whether `name` may move a parcel in `state` (held parcels: see PASSES_HOLD). */
  static allows(name: TransitionName, state: ParcelState, heldFrom: ParcelState | null = null): boolean {
    const t: Transition = TRANSITIONS[name];
    if (t.from.includes(state)) return true;
    return state === 'quarantined' && heldFrom !== null && PASSES_HOLD.has(name) && t.from.includes(heldFrom);
  }

  /**
   * What closing a door opened with a pickup code completes: the customer's collection, or, for
   * a parcel back in its producer's box, the producer taking it back (their return code); null:
   * neither applies.
   */
  static pickupOf(state: ParcelState, heldFrom: ParcelState | null = null): 'pickup' | 'takeBack' | null {
    if (ParcelStates.allows('pickup', state, heldFrom)) return 'pickup';
    return ParcelStates.allows('takeBack', state, heldFrom) ? 'takeBack' : null;
  }

  pickupOf(parcelId: string): 'pickup' | 'takeBack' | null {
    const p = this.#get(parcelId);
    return p ? ParcelStates.pickupOf(p.state, p.held_from) : null;
  }

  /** Whether transition `name` applies to the parcel as it is now. */
  can(parcelId: string, name: TransitionName): boolean {
    const p = this.#get(parcelId);
    return !!p && ParcelStates.allows(name, p.state, p.held_from);
  }

  #get(parcelId: string): Row | undefined {
    return cached(this.db, 'SELECT id, state, locker_id, door, held_from FROM parcels WHERE id = ?').get(
      parcelId,
    ) as Row | undefined;
  }

  /**
   * Applies transition `name` to a parcel, its codes, its compartment and the ledger, or throws
   * HUB_ERR_INVALID_STATE. Returns the state it is in afterwards.
   */
  move(parcelId: string, name: TransitionName, m: Move): ParcelState {
    const t: Transition = TRANSITIONS[name];
    const p = this.#get(parcelId);
    if (!p) throw new HubError('HUB_ERR_PARCEL_NOT_FOUND', `no parcel ${parcelId}`);
    if (!ParcelStates.allows(name, p.state, p.held_from))
      throw new HubError('HUB_ERR_INVALID_STATE', `parcel ${parcelId} is ${p.state}: it cannot ${name}`);
    const passes = p.state === 'quarantined' && !t.from.includes('quarantined');
    const held = passes && !ENDS_HOLD.has(name);
    const target: ParcelState = t.to === 'held' ? (p.held_from ?? 'stored') : t.to;
    const state = held ? 'quarantined' : target;
    const heldFrom = name === 'quarantine' ? p.state : held ? target : null;
    const set: Record<string, unknown> = { ...m.set, state, held_from: heldFrom, updated_at: m.at };
    if (t.stamp) set[t.stamp] = m.at;
    const columns = Object.keys(set);
    // Column names come from this module's own types, never from input.
    cached(this.db, `UPDATE parcels SET ${columns.map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id`).run(
      {
        ...set,
        id: parcelId,
      },
    );
    if (t.codes) endCodes(this.db, parcelId, t.codes);
    if (t.free) this.#compartments.free(p.locker_id, p.door, parcelId);
    this.ledger.append({
      ts: m.at,
      type: t.ledger,
      actor: m.actor,
      lockerId: m.lockerId ?? p.locker_id,
      door: m.door ?? p.door,
      parcelId,
      data: {
        ...m.data,
        ...(passes ? { held: true } : {}),
        ...(name.startsWith('retrieve') ? { from: p.state } : {}),
      },
    });
    return state;
  }
}
