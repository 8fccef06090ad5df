/**
 * What happens at a cabinet: keypad entries, doors, locks, command results. Each handler runs
 * inside the ingest's transaction and returns the commands to publish once it has committed.
 * No MQTT or HTTP types here.
 */
import {
  type Brake,
  CABINET_BRAKE,
  type Command,
  type CommandResult,
  type DeviceEvent,
  parseGs1,
  SITE_BRAKE,
  score,
} from '../../devices/index.ts';
import type { Ledger } from '../db/ledger.ts';
import { cached, type Db } from '../db/open.ts';
import { HubError } from '../errors.ts';
import type { Codes } from './codes.ts';
import type { Alarms } from './coldchain/alarms.ts';
import type { CommandCause, CommandRow, Commands } from './commands.ts';
import { type CompartmentRow, Compartments } from './compartments.ts';
import { decide, type KeypadDecision } from './keypad.ts';
import { OfflineReconciler } from './offline.ts';
import { ParcelStates } from './parcel-states.ts';
import { lookupProfile } from './profiles.ts';
import type { Transit } from './transit.ts';
import { Voice } from './voice.ts';

/** How long a released door may stay unopened before the hub takes it back into service (ms). */
export const NOT_OPENED_MS = 60_000;

export class LockerEvents {
  readonly #compartments: Compartments;
  readonly #brake;
  readonly #setBrake;
  readonly #releaseBrake;
  readonly #offline: OfflineReconciler;
  readonly #states: ParcelStates;

  constructor(
    private readonly db: Db,
    private readonly ledger: Ledger,
    private readonly codes: Codes,
    private readonly commands: Commands,
    private readonly alarms: Alarms,
    private readonly transit: Transit,
    /** The keypad's words, in the site's language. */
    private readonly voice = new Voice(db),
  ) {
    this.#compartments = new Compartments(db);
    // The keypad brakes live in the store: they change inside the ingest's transaction, so they
    // roll back with it, and a restart does not give an attacker fresh guesses.
    this.#brake = db.prepare<[string], Brake>(
      'SELECT failures, at, blocked_until AS blockedUntil FROM brakes WHERE key = ?',
    );
    this.#setBrake = db.prepare(
      `INSERT INTO brakes (key, failures, at, blocked_until) VALUES (?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, at = excluded.at,
         blocked_until = excluded.blocked_until`,
    );
    this.#releaseBrake = db.prepare('DELETE FROM brakes WHERE key = ?');
    this.#offline = new OfflineReconciler(db, ledger, codes);
    this.#states = new ParcelStates(db, ledger);
  }

  /** Applies one (new, deduplicated) device event. `now` is the hub's clock. */
  onEvent(lockerId: string, ev: DeviceEvent, now: number): Command[] {
    const actor = `device:${lockerId}`;
    switch (ev.type) {
      case 'keypad.entry': {
        // An entry held in the store behind a hole in the events keeps only its code's keyed hash.
        const held = (ev as { codeHash?: string }).codeHash;
        return this.#keypad(lockerId, held ?? this.codes.hash(ev.code), ev.keypad, ev.id, ev.ts, now);
      }
      case 'offline.unlock':
        this.#offline.reconcile(lockerId, ev, now);
        return [];
      case 'scan': {
        // A label read at the cabinet: its GS1 content, and the parcel it names if its SSCC is known.
        const gs1 = parseGs1(ev.data);
        const sscc = gs1.ok ? (gs1.fields.sscc as string | undefined) : undefined;
        // Only a parcel this cabinet holds or awaits: any platform may reuse another's SSCC, and
        // the newest parcel carrying it anywhere would put this scan in a rival's timeline.
        const parcelId = sscc
          ? (cached(
              this.db,
              `SELECT p.id FROM parcels p WHERE p.sscc = ? AND (
                 (p.locker_id = ? AND p.state IN ('reserved', 'stored', 'expired', 'quarantined', 'returned'))
                 OR (p.state = 'in_transit' AND (p.destination_locker_id = ?
                   OR p.destination_site_id = (SELECT site_id FROM lockers WHERE id = ?))))
               ORDER BY p.created_at DESC LIMIT 1`,
              'pluck',
            ).get(sscc, lockerId, lockerId, lockerId) as string | undefined)
          : undefined;
        this.ledger.append({
          ts: now,
          type: 'device.scan',
          actor,
          lockerId,
          parcelId: parcelId ?? null,
          data: {
            eventId: ev.id,
            deviceTs: ev.ts,
            data: ev.data,
            symbology: ev.symbology,
            ...(gs1.ok ? { gs1: gs1.fields } : { gs1Error: gs1.error }),
          },
        });
        // With a driver at the cabinet, a scan collects or delivers.
        return sscc ? this.transit.scanned(lockerId, sscc, now) : [];
      }
      case 'door.opened':
        return this.#doorOpened(lockerId, ev.door, ev, now);
      case 'door.closed':
        return this.#doorClosed(lockerId, ev.door, ev, now);
      case 'presence.changed':
        // What is inside now: judged when the door closes (#presenceMismatch). Recorded as well.
        this.#compartments.presence(lockerId, ev.door, ev.present);
        return this.#record(lockerId, ev, actor, now);
      default:
        return this.#record(lockerId, ev, actor, now);
    }
  }

  /** A device event recorded as it is: cold chain, scanning and offline reconciliation build on them. */
  #record(lockerId: string, ev: DeviceEvent, actor: string, now: number): Command[] {
    const { id, seq, ts, type, ...data } = ev;
    const door = 'door' in ev ? ev.door : null;
    this.ledger.append({
      ts: now,
      type: `device.${type}`,
      actor,
      lockerId,
      door,
      data: { ...data, eventId: id, deviceTs: ts },
    });
    return [];
  }

  /**
   * Someone guessing codes: a warning once a cabinet's keypad is locked for the third time in a
   * row, critical once the site's brake locks (codes tried from keypad to keypad). Cleared once
   * both brakes have forgotten every failure.
   */
  #guessing(lockerId: string, d: KeypadDecision, now: number): void {
    const alarm = (level: 'warning' | 'critical', details: Record<string, unknown>) =>
      this.alarms.raise({ lockerId, sensor: 'keypad', kind: 'keypad_guessing', level, at: now, details });
    if (d.kind === 'refuse' && d.lockoutMs > 0) {
      const failures = Math.round((d.brake?.failures ?? 0) * 10) / 10;
      if (d.siteLockout)
        alarm('critical', { failures, siteFailures: Math.round((d.siteBrake?.failures ?? 0) * 10) / 10 });
      else if (d.lockoutMs >= 4 * CABINET_BRAKE.baseMs) alarm('warning', { failures });
      return;
    }
    if (score(d.brake, now, CABINET_BRAKE) < 1 && score(d.siteBrake, now, SITE_BRAKE) < 1)
      for (const level of ['warning', 'critical'] as const)
        this.alarms.clear(lockerId, 'keypad', 'keypad_guessing', level, now);
  }

  /** A code typed at the keypad: the facts from the store, keypad.ts's decision, its effects. */
  #keypad(
    lockerId: string,
    hash: string,
    keypad: string | undefined,
    eventId: string,
    typedAt: number,
    now: number,
  ): Command[] {
    const row = this.codes.findHash(hash);
    const site = cached(this.db, 'SELECT site_id FROM lockers WHERE id = ?', 'pluck').get(lockerId) as string;
    const keys = { brake: `locker:${lockerId}`, siteBrake: `site:${site}` } as const;
    const brake = this.#brake.get(keys.brake);
    const siteBrake = this.#brake.get(keys.siteBrake);
    const comp = row ? this.#compartments.get(row.locker_id, row.door) : undefined;
    const decision = decide({
      now,
      lockerId,
      typedAt,
      brake,
      siteBrake,
      code: row,
      driver: this.transit.driverByHash(hash, site, now),
      door: comp && {
        pendingAction: comp.pending_action,
        parcelId: comp.parcel_id,
        opened: !!comp.pending_opened,
      },
      parcelState: row
        ? (cached(this.db, 'SELECT state FROM parcels WHERE id = ?', 'pluck').get(row.parcel_id) as string)
        : undefined,
    });
    for (const [which, before] of [
      ['brake', brake],
      ['siteBrake', siteBrake],
    ] as const) {
      const after = decision[which];
      if (after === before) continue;
      if (after) this.#setBrake.run(keys[which], after.failures, after.at, after.blockedUntil);
      else this.#releaseBrake.run(keys[which]);
    }
    this.#guessing(lockerId, decision, now);
    switch (decision.kind) {
      case 'driver':
        return this.transit.driverArrived(lockerId, decision.driver, now);
      case 'refuse':
        return this.#refuse(lockerId, decision, { hash, keypad, eventId, typedAt }, now);
      case 'open':
        return this.#open(lockerId, decision, keypad, eventId, now);
    }
  }

  #refuse(
    lockerId: string,
    d: Extract<KeypadDecision, { kind: 'refuse' }>,
    typed: { hash: string; keypad: string | undefined; eventId: string; typedAt: number },
    now: number,
  ): Command[] {
    this.ledger.append({
      ts: now,
      type: 'code.rejected',
      actor: `device:${lockerId}`,
      lockerId,
      parcelId: d.code?.locker_id === lockerId ? d.code.parcel_id : null,
      data: {
        reason: d.reason,
        keypad: typed.keypad ?? null,
        eventId: typed.eventId,
        codeHash: typed.hash.slice(0, 12),
        lockoutMs: d.lockoutMs,
        ...(d.reason === 'stale' ? { typedAt: typed.typedAt } : {}),
      },
    });
    if (d.display === null) return [];
    return [
      this.commands.create(
        lockerId,
        { type: 'display', text: this.voice.say(lockerId, d.display), beep: 'error' },
        { kind: 'keypad' },
        now,
      ),
    ];
  }

  #open(
    lockerId: string,
    d: Extract<KeypadDecision, { kind: 'open' }>,
    keypad: string | undefined,
    eventId: string,
    now: number,
  ): Command[] {
    const { code: row } = d;
    const cause: CommandCause = {
      kind: 'code',
      codeId: row.id,
      parcelId: row.parcel_id,
      door: row.door,
      action: row.kind,
    };
    const unlock = this.commands.create(lockerId, { type: 'unlock', door: row.door }, cause, now);
    // Used once already (released again): marking it again would only republish the offline table.
    if (!d.again) this.codes.markUsed(row.id, now);
    this.#compartments.begin(lockerId, row.door, row.kind, unlock.id);
    this.ledger.append({
      ts: now,
      type: 'code.accepted',
      actor: `device:${lockerId}`,
      lockerId,
      door: row.door,
      parcelId: row.parcel_id,
      data: { kind: row.kind, keypad: keypad ?? null, eventId, commandId: unlock.id },
    });
    const display = this.commands.create(
      lockerId,
      { type: 'display', text: this.voice.say(lockerId, d.display), beep: 'ok' },
      { kind: 'keypad' },
      now,
    );
    return [unlock, display];
  }

  #doorOpened(lockerId: string, door: number, ev: DeviceEvent, now: number): Command[] {
    const comp = this.#compartments.get(lockerId, door);
    this.#compartments.contact(lockerId, door, 'open', ev.ts);
    if (comp?.pending_action) this.#compartments.opened(lockerId, door);
    else if (comp?.door_state === 'closed') {
      // No code, no operator, no command released this door: forced, or a latch that failed.
      this.alarms.raise({
        lockerId,
        sensor: `door:${door}`,
        kind: 'door_forced',
        level: 'critical',
        at: now,
        since: ev.ts,
        details: { door, parcelId: comp.parcel_id },
      });
    }
    this.ledger.append({
      ts: now,
      type: 'door.opened',
      actor: `device:${lockerId}`,
      lockerId,
      door,
      parcelId: comp?.parcel_id ?? null,
      data: { eventId: ev.id, deviceTs: ev.ts, for: comp?.pending_action ?? null, known: !!comp },
    });
    return [];
  }

  #doorClosed(lockerId: string, door: number, ev: DeviceEvent, now: number): Command[] {
    const comp = this.#compartments.get(lockerId, door);
    this.#compartments.contact(lockerId, door, 'closed', ev.ts);
    this.alarms.clear(lockerId, `door:${door}`, 'door_left_open', 'warning', now);
    this.alarms.clear(lockerId, `door:${door}`, 'door_forced', 'critical', now);
    const actor = `device:${lockerId}`;
    const base = { ts: now, actor, lockerId, door };
    this.ledger.append({
      ...base,
      type: 'door.closed',
      parcelId: comp?.parcel_id ?? null,
      data: { eventId: ev.id, deviceTs: ev.ts },
    });
    if (!comp?.pending_action || !comp.pending_opened) return [];
    this.#compartments.end(lockerId, door);
    const parcelId = comp.parcel_id;
    const mismatch = parcelId ? this.#presenceMismatch(lockerId, comp, parcelId, now) : [];
    if (mismatch.length) return mismatch;
    // When the door closed, on the cabinet's clock (put on the hub's): the time of the facts, as
    // readings have it, whenever the event reached the hub (a backlog after an outage, a hole).
    const closedAt = ev.ts;
    if (comp.pending_action === 'collect' && parcelId) {
      // One door after another: closing this one opens the next.
      return this.transit.collected(lockerId, door, parcelId, now);
    } else if (comp.pending_action === 'deliver' && parcelId) {
      this.transit.delivered(lockerId, door, parcelId, now);
    } else if (comp.pending_action === 'deposit' && parcelId && this.#states.can(parcelId, 'deposit')) {
      const { windowMs, travels } = cached(
        this.db,
        'SELECT pickup_window_ms AS windowMs, (destination_locker_id IS NOT NULL OR destination_site_id IS NOT NULL) AS travels FROM parcels WHERE id = ?',
      ).get(parcelId) as { windowMs: number; travels: number };
      const pickup = this.codes.pendingPickup(parcelId);
      // A travelling parcel's pickup code waits for its delivery at the destination. A parcel
      // quarantined during its deposit has its code too: the hold keeps it from opening anything.
      if (pickup !== undefined && !travels) this.codes.activate(pickup, closedAt + windowMs);
      this.#states.move(parcelId, 'deposit', {
        ...base,
        at: closedAt,
        data: travels ? { awaitingCollection: true } : { pickupExpiresAt: closedAt + windowMs },
      });
    } else if (comp.pending_action === 'pickup' && parcelId && this.#states.pickupOf(parcelId)) {
      // A customer's pickup, or a producer's return code taking back goods returned to their box.
      this.#states.move(parcelId, this.#states.pickupOf(parcelId) ?? 'pickup', { ...base, at: closedAt });
    } else if (comp.pending_action === 'retrieve' && parcelId) {
      // An operator took the goods out: whatever state the parcel was in, it leaves the locker;
      // discarded goods stay discarded, anything else goes back (returned).
      const discarded =
        cached(this.db, 'SELECT state FROM parcels WHERE id = ?', 'pluck').get(parcelId) === 'discarded';
      const name = discarded ? 'retrieveDiscarded' : 'retrieve';
      if (this.#states.can(parcelId, name)) this.#states.move(parcelId, name, { ...base, at: closedAt });
    }
    return [];
  }

  /**
   * Where the door's board says whether goods are inside (the profile's `presence`), a pickup that
   * leaves goods behind or a deposit that puts nothing in does not complete: the parcel stays as it
   * was, its code works again for another try, the person is told, the operator alarmed. Without
   * this, a pickup closed the parcel and freed the compartment with the goods still inside.
   */
  #presenceMismatch(lockerId: string, comp: CompartmentRow, parcelId: string, now: number): Command[] {
    const { door } = comp;
    const where = `door:${door}`;
    const goodsLeft = comp.pending_action === 'pickup' && comp.present === 1;
    const nothingIn = comp.pending_action === 'deposit' && comp.present === 0;
    if ((!goodsLeft && !nothingIn) || !this.#sensesPresence(lockerId, door)) {
      this.alarms.clear(lockerId, where, 'presence_mismatch', 'warning', now);
      return [];
    }
    const kind = goodsLeft ? 'pickup' : 'deposit';
    const reason = goodsLeft ? 'goods_left' : 'nothing_deposited';
    const code = cached(
      this.db,
      `SELECT id, expires_at FROM codes WHERE parcel_id = ? AND kind = ? AND state = 'used' ORDER BY id DESC LIMIT 1`,
    ).get(parcelId, kind) as { id: number; expires_at: number | null } | undefined;
    const expiresAt =
      code?.expires_at ??
      (cached(this.db, 'SELECT deposit_expires_at FROM parcels WHERE id = ?', 'pluck').get(
        parcelId,
      ) as number);
    if (code) this.codes.activate(code.id, expiresAt);
    this.alarms.raise({
      lockerId,
      sensor: where,
      kind: 'presence_mismatch',
      level: 'warning',
      at: now,
      details: { parcelId, reason },
    });
    this.ledger.append({
      ts: now,
      type: 'parcel.presence_mismatch',
      actor: `device:${lockerId}`,
      lockerId,
      door,
      parcelId,
      data: { reason, codeAgain: !!code },
    });
    const text = this.voice.say(lockerId, goodsLeft ? 'keypad.goods_left' : 'keypad.nothing_in');
    return [
      this.commands.create(lockerId, { type: 'display', text, beep: 'error' }, { kind: 'keypad' }, now),
    ];
  }

  #sensesPresence(lockerId: string, door: number): boolean {
    const profile = cached(this.db, 'SELECT profile FROM lockers WHERE id = ?', 'pluck').get(
      lockerId,
    ) as string;
    return !!lookupProfile(this.db, profile)?.compartments.find((c) => c.door === door)?.presence;
  }

  /**
   * An operator opens a door from the API. Same path as a code: a stored, audited unlock command
   * tracked on the compartment until the door has opened and closed again.
   */
  remoteOpen(
    lockerId: string,
    door: number,
    op: { tokenId: string; name: string; reason: string; retrieve?: boolean },
    now: number,
  ): Command {
    const comp = this.#compartments.get(lockerId, door);
    if (!comp) throw new HubError('HUB_ERR_COMPARTMENT_NOT_FOUND', `locker ${lockerId} has no door ${door}`);
    if (comp.pending_action) {
      // The operator's own open that nobody followed: tried again (the new command supersedes it).
      const again =
        (comp.pending_action === 'operator' || comp.pending_action === 'retrieve') && !comp.pending_opened;
      if (!again)
        throw new HubError(
          'HUB_ERR_CONFLICT',
          `door ${door} is already being opened (${comp.pending_action})`,
        );
      this.#compartments.end(lockerId, door);
    }
    if (op.retrieve && !comp.parcel_id)
      throw new HubError('HUB_ERR_INVALID_STATE', `door ${door} holds no parcel to retrieve`);
    const cause: CommandCause = { kind: 'operator', tokenId: op.tokenId, door, reason: op.reason };
    const unlock = this.commands.create(lockerId, { type: 'unlock', door }, cause, now);
    this.#compartments.begin(lockerId, door, op.retrieve ? 'retrieve' : 'operator', unlock.id);
    this.ledger.append({
      ts: now,
      type: 'compartment.remote_open',
      actor: `token:${op.tokenId}`,
      lockerId,
      door,
      parcelId: comp.parcel_id,
      data: { reason: op.reason, operator: op.name, commandId: unlock.id, retrieve: !!op.retrieve },
    });
    return unlock;
  }

  /**
   * An operator gives up an open in progress whose door has not opened: the compartment returns to
   * service (a code it was released for may be typed again). Throws HUB_ERR_CONFLICT otherwise.
   */
  cancelOpen(lockerId: string, door: number, op: { tokenId: string; reason: string }, now: number): void {
    const comp = this.#compartments.get(lockerId, door);
    if (!comp) throw new HubError('HUB_ERR_COMPARTMENT_NOT_FOUND', `locker ${lockerId} has no door ${door}`);
    if (!comp.pending_action) throw new HubError('HUB_ERR_CONFLICT', `door ${door} is not being opened`);
    if (comp.pending_opened)
      throw new HubError(
        'HUB_ERR_CONFLICT',
        `door ${door} is open: its ${comp.pending_action} completes when it closes`,
      );
    // A copy of the unlock on its way may still release the door: given up now, the door would
    // open for nothing, its code typed again meanwhile. Its answer, or its expiry, comes first.
    const command = comp.pending_command ? this.commands.get(lockerId, comp.pending_command) : undefined;
    if (command && (command.state === 'pending' || command.state === 'sent'))
      throw new HubError(
        'HUB_ERR_CONFLICT',
        `the cabinet has not answered the unlock yet: try again once it has (at most ${Math.ceil(
          Math.max(0, command.expires_at - now) / 1000,
        )} s)`,
      );
    this.#endUnopened(lockerId, door, comp.pending_action, comp.pending_command, comp.parcel_id, now, {
      type: 'compartment.open_cancelled',
      actor: `token:${op.tokenId}`,
      data: { reason: op.reason },
    });
  }

  /**
   * Doors released for a code or an operator that nobody opened within NOT_OPENED_MS of the
   * cabinet confirming the release: the latch closed again; the compartment returns to service and
   * a code it was released for may be typed again. Part of the hub's periodic work; returns how many.
   */
  notOpened(now: number): number {
    const rows = cached(
      this.db,
      `SELECT c.locker_id, c.door, c.pending_action, c.pending_command, c.parcel_id, m.cause FROM compartments c
       JOIN commands m ON m.id = c.pending_command
       WHERE c.pending_action IS NOT NULL AND c.pending_opened = 0 AND m.state = 'done' AND m.done_at <= ?`,
    ).all(now - NOT_OPENED_MS) as Array<{
      locker_id: string;
      door: number;
      pending_action: string;
      pending_command: string;
      parcel_id: string | null;
      cause: string | null;
    }>;
    let n = 0;
    for (const r of rows) {
      const cause = r.cause ? (JSON.parse(r.cause) as CommandCause) : null;
      // A driver's round goes door after door: its own session decides.
      if (cause?.kind !== 'code' && cause?.kind !== 'operator') continue;
      this.#endUnopened(r.locker_id, r.door, r.pending_action, r.pending_command, r.parcel_id, now, {
        type: 'door.not_opened',
        actor: 'hub',
        data: { afterMs: NOT_OPENED_MS },
      });
      n++;
    }
    return n;
  }

  #endUnopened(
    lockerId: string,
    door: number,
    action: string,
    commandId: string | null,
    parcelId: string | null,
    now: number,
    entry: { type: string; actor: string; data: Record<string, unknown> },
  ): void {
    this.#compartments.end(lockerId, door);
    const row = commandId ? this.commands.get(lockerId, commandId) : undefined;
    const cause = row?.cause ? (JSON.parse(row.cause) as CommandCause) : null;
    if (cause?.kind === 'code') this.codes.restore(cause.codeId);
    this.ledger.append({
      ts: now,
      type: entry.type,
      actor: entry.actor,
      lockerId,
      door,
      parcelId,
      data: { ...entry.data, action, commandId },
    });
  }

  /** A device's answer to a command. A failed unlock gives its code back. */
  onCommandResult(lockerId: string, result: CommandResult, now: number): void {
    const row = this.commands.complete(lockerId, result, now);
    if (!row) return;
    const type = result.ok ? 'command.done' : 'command.failed';
    if (row.type === 'unlock' || !result.ok) {
      this.ledger.append({
        ts: now,
        type,
        actor: `device:${lockerId}`,
        lockerId,
        door: this.#door(row),
        data: { commandId: row.id, command: row.type, error: result.error ?? null },
      });
    }
    if (!result.ok) this.#undo(row);
  }

  /** An unanswered command past its expiry: the door did not open for it. */
  onCommandExpired(row: CommandRow, now: number): void {
    this.commands.expire(row, now);
    if (row.type === 'display' || row.type === 'beep') return;
    this.ledger.append({
      ts: now,
      type: 'command.expired',
      actor: 'hub',
      lockerId: row.locker_id,
      door: this.#door(row),
      data: { commandId: row.id, command: row.type, attempts: row.attempts },
    });
    this.#undo(row);
  }

  #undo(row: CommandRow): void {
    const cause = row.cause ? (JSON.parse(row.cause) as CommandCause) : null;
    if (cause?.kind !== 'code' && cause?.kind !== 'operator' && cause?.kind !== 'driver') return;
    const comp = this.#compartments.get(row.locker_id, cause.door);
    // Only undo if the door never opened for this command: once opened, the operation stands.
    if (comp?.pending_command !== row.id || comp.pending_opened) return;
    this.#compartments.end(row.locker_id, cause.door);
    if (cause.kind === 'code') this.codes.restore(cause.codeId);
  }

  #door(row: CommandRow): number | null {
    const body = JSON.parse(row.body) as { door?: number };
    return body.door ?? null;
  }
}
