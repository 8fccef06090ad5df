/**
 * The end of a soak: the hub's store (read-only, after the hub stopped) held against what the
 * soak saw happen at each cabinet and what each bridge says it journalled.
 */
import Database from 'better-sqlite3';
import type { Cabinet } from './cabinet.ts';

export interface BridgeEnd {
  cab: Cabinet;
  /** Rows still in its outbox, read from its store after its last bridge exited. */
  outboxLeft: number;
}

export interface Findings {
  events: {
    sent: number;
    acknowledged: number;
    stored: number;
    lost: number;
    doubled: number;
    /** Stored but still held behind a hole at the end. */
    held: number;
    /** Stored, not held, and never applied (no ledger row names them). */
    unapplied: number;
    /** Keypad entries held across a hub restart, dropped without their digits (docs/protocol.md §2.3). */
    keypadDroppedHeld: number;
    /** Boots the hub heard of other than the bridges' own. */
    strayBoots: number;
  };
  physical: {
    doorChanges: number;
    doorHistoriesMismatched: Array<{
      locker: string;
      door: number;
      physical: number;
      hub: number;
      firstDiff: number;
    }>;
    typed: number;
    keypadEventsAtHub: number;
    boardUnlocks: number;
    unlocksAtHub: number;
    unattendedUnlocks: number;
    /** What became of each typed code at the hub, by what the person meant to do. */
    outcomes: Record<string, Record<string, number>>;
  };
  contradictions: Array<{ locker: string; what: string }>;
  gapRecords: number;
  codesUsedTwice: Array<{ locker: string; parcel: string; outcome: string }>;
  /**
   * Valid codes the bridge refused on its own (the hub away) for want of them in its table; `late`:
   * beyond the stated bound (docs/protocol.md §3.2), the code created (or its deposit seen) while
   * the hub and the broker had been up long enough for the cabinet to be connected, and typed
   * more than `TABLE_BOUND_MS` later.
   */
  tableMisses: Array<{
    locker: string;
    parcel: string;
    kind: string;
    outcome: string;
    afterMs: number;
    late: boolean;
  }>;
  info: {
    commandsOpen: number;
    readings: number;
    forcedAlarms: number;
    ledgerEvents: number;
    parcelsByState: Record<string, number>;
  };
}

interface DeviceRow {
  id: string;
  boot_id: string;
  seq: number;
  type: string;
  held: number;
  door: number | null;
}

interface LedgerRow {
  eid: string;
  type: string;
  reason: string | null;
}

/** A code reaches the cabinet's table within the hub's 250 ms period plus the link: 1.5 s allowed. */
export const TABLE_BOUND_MS = 1500;
/** The bridge reconnects within 5 s (`reconnectMaxMs`): up this long before, it was connected. */
const CONNECTED_AFTER_MS = 6000;

/** `calm(from, to)`: the hub ran and the broker stayed up all that time. */
export type Calm = (from: number, to: number) => boolean;

export function compare(dbFile: string, ends: BridgeEnd[], calm: Calm): Findings {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    return compareIn(db, ends, calm);
  } finally {
    db.close();
  }
}

function compareIn(db: Database.Database, ends: BridgeEnd[], calm: Calm): Findings {
  const f: Findings = {
    events: {
      sent: 0,
      acknowledged: 0,
      stored: 0,
      lost: 0,
      doubled: 0,
      held: 0,
      unapplied: 0,
      keypadDroppedHeld: 0,
      strayBoots: 0,
    },
    physical: {
      doorChanges: 0,
      doorHistoriesMismatched: [],
      typed: 0,
      keypadEventsAtHub: 0,
      boardUnlocks: 0,
      unlocksAtHub: 0,
      unattendedUnlocks: 0,
      outcomes: {},
    },
    contradictions: [],
    gapRecords: db
      .prepare(`SELECT count(*) FROM events WHERE type = 'device.sequence_gap'`)
      .pluck()
      .get() as number,
    codesUsedTwice: [],
    tableMisses: [],
    info: {
      commandsOpen: db
        .prepare(`SELECT count(*) FROM commands WHERE state IN ('pending', 'sent')`)
        .pluck()
        .get() as number,
      readings: db.prepare('SELECT count(*) FROM readings').pluck().get() as number,
      forcedAlarms: db
        .prepare(`SELECT count(*) FROM alarms WHERE kind = 'door_forced'`)
        .pluck()
        .get() as number,
      ledgerEvents: db.prepare('SELECT count(*) FROM events').pluck().get() as number,
      parcelsByState: Object.fromEntries(
        (
          db.prepare('SELECT state, count(*) AS n FROM parcels GROUP BY state').all() as Array<{
            state: string;
            n: number;
          }>
        ).map((r) => [r.state, r.n]),
      ),
    },
  };
  const deviceRows = db.prepare<[string], DeviceRow>(
    `SELECT id, boot_id, seq, type, held, json_extract(body, '$.door') AS door
     FROM device_events WHERE locker_id = ? ORDER BY boot_id, seq`,
  );
  const ledgerRows = db.prepare<[string], LedgerRow>(
    `SELECT json_extract(data, '$.eventId') AS eid, type, json_extract(data, '$.reason') AS reason
     FROM events WHERE locker_id = ? AND json_extract(data, '$.eventId') IS NOT NULL ORDER BY seq`,
  );
  const doorLedger = db.prepare<[string], { type: string; door: number }>(
    `SELECT type, door FROM events WHERE locker_id = ? AND type IN ('door.opened', 'door.closed') ORDER BY seq`,
  );
  const parcels = new Map(
    (
      db.prepare('SELECT id, state, locker_id, door, reference FROM parcels').all() as Array<{
        id: string;
        state: string;
        locker_id: string;
        door: number;
        reference: string | null;
      }>
    ).map((p) => [p.id, p]),
  );
  const parcelByRef = new Map([...parcels.values()].map((p) => [p.reference, p]));
  const compartments = db.prepare<
    [string],
    {
      door: number;
      door_state: string;
      parcel_id: string | null;
      pending_action: string | null;
      pending_opened: number;
    }
  >(
    'SELECT door, door_state, parcel_id, pending_action, pending_opened FROM compartments WHERE locker_id = ?',
  );

  for (const end of ends) {
    const { cab } = end;
    const locker = cab.locker;
    const contradiction = (what: string) => f.contradictions.push({ locker, what });
    const rows = deviceRows.all(locker);
    // The cabinet's events in the order its bridges journalled them: boot after boot, seq within.
    const bootIndex = new Map(cab.boots.map((b, i) => [b.bootId, i]));
    const own = rows
      .filter((r) => bootIndex.has(r.boot_id))
      .sort(
        (a, b) =>
          (bootIndex.get(a.boot_id) as number) - (bootIndex.get(b.boot_id) as number) || a.seq - b.seq,
      );
    f.events.strayBoots += new Set(rows.filter((r) => !bootIndex.has(r.boot_id)).map((r) => r.boot_id)).size;
    for (const boot of cab.boots) {
      const stored = new Set(own.filter((r) => r.boot_id === boot.bootId).map((r) => r.seq));
      // What the bridge journalled: its own count, or (had it said nothing) the highest it sent.
      const sent = boot.counters?.events ?? Math.max(0, ...stored);
      f.events.sent += sent;
      f.events.acknowledged += sent;
      for (let seq = 1; seq <= sent; seq++) if (!stored.has(seq)) f.events.lost++;
    }
    // The outbox outlives boots: what it still holds at the end was never acknowledged.
    f.events.acknowledged -= end.outboxLeft;
    f.events.stored += own.length;
    f.events.held += own.filter((r) => r.held).length;

    const ledger = new Map<string, LedgerRow[]>();
    for (const l of ledgerRows.all(locker)) ledger.set(l.eid, [...(ledger.get(l.eid) ?? []), l]);
    for (const list of ledger.values()) if (list.length > 1) f.events.doubled += list.length - 1;
    for (const r of own) {
      if (r.held || ledger.has(r.id)) continue;
      if (r.type === 'keypad.entry') f.events.keypadDroppedHeld++;
      else f.events.unapplied++;
    }

    // Every door's contact, change by change, as the soak made it and as the hub applied it (the
    // ledger's order, which is the order of application: events stored in order but applied out
    // of it show here).
    const appliedDoors = doorLedger.all(locker);
    for (const [door, physical] of cab.doorHistory) {
      f.physical.doorChanges += physical.length;
      const hub = appliedDoors.filter((r) => r.door === door).map((r) => r.type);
      if (hub.length !== physical.length || hub.some((t, i) => t !== physical[i]))
        f.physical.doorHistoriesMismatched.push({
          locker,
          door,
          physical: physical.length,
          hub: hub.length,
          firstDiff: physical.findIndex((t, i) => hub[i] !== t),
        });
    }

    // Typed codes, in the order typed, against the keypad events in the bridge's order.
    const keypad = own.filter((r) => ['keypad.entry', 'offline.unlock', 'offline.refused'].includes(r.type));
    f.physical.typed += cab.typings.length;
    f.physical.keypadEventsAtHub += keypad.length;
    if (keypad.length === cab.typings.length) {
      cab.typings.forEach((typing, i) => {
        const ev = keypad[i] as DeviceRow;
        const applied = ledger.get(ev.id)?.[0];
        const outcome = applied
          ? `${ev.type === 'keypad.entry' ? '' : `${ev.type} → `}${applied.type}${applied.reason ? `: ${applied.reason}` : ''}`
          : ev.held
            ? `${ev.type} held`
            : `${ev.type} dropped`;
        const byKind = f.physical.outcomes[typing.kind] ?? {};
        f.physical.outcomes[typing.kind] = byKind;
        byKind[outcome] = (byKind[outcome] ?? 0) + 1;
        // A used code that the hub accepted, or that the bridge opened a door for on its own.
        if (typing.kind === 'probe' && (ev.type === 'offline.unlock' || applied?.type === 'code.accepted'))
          f.codesUsedTwice.push({ locker, parcel: typing.parcelId, outcome });
        if (typing.kind !== 'probe' && ev.type === 'offline.refused') {
          const afterMs = typing.at - typing.validSince;
          const late =
            afterMs > TABLE_BOUND_MS &&
            calm(typing.validSince - CONNECTED_AFTER_MS, typing.validSince + TABLE_BOUND_MS);
          f.tableMisses.push({ locker, parcel: typing.parcelId, kind: typing.kind, outcome, afterMs, late });
        }
      });
    }
    f.physical.boardUnlocks += cab.unlocks.length;
    f.physical.unattendedUnlocks += cab.unlocks.filter((u) => !u.attended).length;
    f.physical.unlocksAtHub += own.filter(
      (r) => r.type === 'lock.released' || r.type === 'offline.unlock',
    ).length;

    // Parcels: the state the hub gives each against what happened to its goods.
    for (const p of cab.parcels) {
      const expected = p.pickedUp ? 'picked_up' : p.deposited ? 'stored' : 'reserved';
      const actual = parcels.get(p.id)?.state ?? 'missing';
      if (actual !== expected)
        contradiction(
          `parcel ${p.id} (door ${p.door}) ${p.pickedUp ? 'picked up' : p.deposited ? 'deposited' : 'never deposited'} but ${actual} at the hub`,
        );
    }
    for (const o of cab.orphans) {
      const actual = parcels.get(o.id)?.state;
      if (actual !== 'cancelled')
        contradiction(`parcel ${o.id} cancelled by the platform but ${actual} at the hub`);
    }
    for (const reference of cab.uncertain) {
      const p = parcelByRef.get(reference);
      if (p && p.state !== 'reserved')
        contradiction(`parcel ${p.id} (its codes never known, never touched) is ${p.state} at the hub`);
    }

    // Compartments: doors and goods.
    for (const c of compartments.all(locker)) {
      const open = cab.doorOpen.get(c.door) ?? false;
      if (c.door_state === 'open' && !open)
        contradiction(`door ${c.door} open at the hub behind a closed door`);
      if (c.door_state !== 'open' && open)
        contradiction(`door ${c.door} ${c.door_state} at the hub, open in fact`);
      if (c.pending_opened && !open)
        contradiction(`door ${c.door}: an opening for ${c.pending_action} never closed at the hub`);
      const goods = cab.goods.get(c.door) ?? null;
      if (goods !== null && c.parcel_id !== goods)
        contradiction(`door ${c.door} holds the goods of ${goods}, the hub says ${c.parcel_id ?? 'nothing'}`);
      if (goods === null && c.parcel_id !== null) {
        const held = parcels.get(c.parcel_id);
        if (held?.state !== 'reserved')
          contradiction(`door ${c.door} is empty, the hub says it holds ${c.parcel_id} (${held?.state})`);
      }
    }
  }
  return f;
}
