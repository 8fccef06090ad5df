/**
 * What the customer's parcel page shows (hub/api/customer-page.ts renders it): where the parcel
 * is going or waiting, until when, whether the window may be extended, the code on request, and
 * after pickup its journey's temperatures. The page holds no account: whoever has the link
 * (hub/domain/customer-links.ts) sees this, as whoever has the SMS has the code.
 */
import type { Language, TemperatureClass } from '../../devices/index.ts';
import type { Ledger } from '../db/ledger.ts';
import { cached, type Db } from '../db/open.ts';
import { HubError } from '../errors.ts';
import type { Codes } from './codes.ts';
import { recordSummary } from './coldchain/record.ts';
import type { ClassRules } from './coldchain/rules.ts';
import type { Parcels, ParcelView } from './parcels.ts';
import type { CustomerExtension, PickupWindows } from './pickup-window.ts';
import type { Voice } from './voice.ts';

/**
 * `coming`: not at its pickup locker yet; `ready`: waiting for its customer; `held`: quarantined;
 * `expired`: not collected in time (or never deposited); `cancelled`; `collected`; `withdrawn`:
 * taken out of the locker by someone else (returned, taken back, discarded).
 */
export type PageStage = 'coming' | 'ready' | 'held' | 'expired' | 'cancelled' | 'collected' | 'withdrawn';

/** The journey as the customer reads it, from the temperature record. */
export interface Journey {
  min: number | null;
  max: number | null;
  /** Watched time: from deposit to pickup, less what no sensor saw. */
  watchedMs: number;
  /** Time in a van between lockers (never watched). */
  vanMs: number;
  /** Time in a compartment without readings. */
  unwatchedMs: number;
  outOfRangeMs: number;
  range: { min: number | null; max: number };
  verdict: 'ok' | 'unknown' | 'excursion' | 'breached';
}

export interface ParcelPageView {
  parcelId: string;
  reference: string | null;
  language: Language;
  timeZone: string;
  stage: PageStage;
  /** Where it is (or will be) collected; null when nothing says yet. */
  site: { id: string; name: string } | null;
  lockerId: string | null;
  /** Known once the goods are in their pickup locker. */
  door: number | null;
  pickupExpiresAt: number | null;
  pickedUpAt: number | null;
  /** Whether the customer may extend now, and by how much. */
  extend: CustomerExtension | null;
  /** Whether the code may be shown now. */
  canReveal: boolean;
  /** Deposited: false for a parcel that expired before its goods went in. */
  deposited: boolean;
  journey: Journey | null;
}

type RulesFor = (lockerId: string, cls: TemperatureClass) => ClassRules;

/** How long the journey of a parcel whose record is not sealed yet is drawn once for. */
const DRAWN_FOR_MS = 60_000;
/** How often a code shown again and again is written to the ledger: once in this long. */
const REVEAL_RECORDED_EVERY_MS = 10 * 60_000;

export class ParcelPages {
  /**
   * Journeys drawn from the readings (a record not sealed yet: the minutes after a pickup), kept
   * a minute: drawing one reads every reading of its stays, and a page anyone holding a label can
   * load must not cost the hub that at each request. Bounded; a sealed record is read as it is.
   */
  readonly #drawn = new Map<string, { at: number; journey: Journey }>();

  constructor(
    private readonly db: Db,
    private readonly ledger: Ledger,
    private readonly parcels: Parcels,
    private readonly codes: Codes,
    private readonly windows: PickupWindows,
    private readonly voice: Voice,
    private readonly rulesFor: RulesFor,
  ) {}

  view(parcelId: string, now: number): ParcelPageView {
    const p = this.parcels.get(parcelId);
    const stage = stageOf(p, now);
    const where = this.#where(p, stage);
    const own = this.voice.ofSite(where.siteId ?? p.siteId);
    return {
      parcelId: p.id,
      reference: p.reference,
      language: p.recipient.language ?? own.language,
      timeZone: own.timeZone,
      stage,
      site: where.siteId ? { id: where.siteId, name: this.#siteName(where.siteId) } : null,
      lockerId: where.lockerId,
      door: stage === 'ready' ? p.door : null,
      pickupExpiresAt: p.pickupExpiresAt,
      pickedUpAt: p.pickedUpAt,
      extend: stage === 'ready' ? this.windows.customerPolicy(p.id, now) : null,
      canReveal: stage === 'ready' && this.codes.revealable(p.id, 'pickup', now),
      deposited: p.storedAt !== null,
      journey: stage === 'collected' ? this.#journey(p.id, now) : null,
    };
  }

  /** The pickup code, shown once on the page's answer; the ledger records that it was (never the code). */
  reveal(parcelId: string, now: number): { code: string; lockerId: string; door: number } {
    return this.db
      .transaction(() => {
        const p = this.parcels.get(parcelId);
        const shown = stageOf(p, now) === 'ready' ? this.codes.reveal(parcelId, 'pickup', now) : undefined;
        if (!shown)
          throw new HubError(
            'HUB_ERR_INVALID_STATE',
            `parcel ${parcelId} has no code to show: it is ${p.state}`,
          );
        // Recorded once in ten minutes however often it is asked for: a link's holder posting in a
        // loop would otherwise write the ledger and the parcel's timeline full of it.
        const recent = this.db
          .prepare(`SELECT 1 FROM events WHERE parcel_id = ? AND type = 'code.revealed' AND ts > ? LIMIT 1`)
          .get(parcelId, now - REVEAL_RECORDED_EVERY_MS);
        if (!recent)
          this.ledger.append({
            ts: now,
            type: 'code.revealed',
            actor: 'customer',
            lockerId: shown.lockerId,
            door: shown.door,
            parcelId,
            data: { kind: 'pickup', via: 'page' },
          });
        return { code: shown.code, lockerId: shown.lockerId, door: shown.door };
      })
      .immediate();
  }

  #where(p: ParcelView, stage: PageStage): { siteId: string | null; lockerId: string | null } {
    if (stage !== 'coming' || !p.destination) return { siteId: p.siteId, lockerId: p.lockerId };
    const { lockerId, siteId } = p.destination;
    if (siteId) return { siteId, lockerId: null };
    const site = cached(this.db, 'SELECT site_id FROM lockers WHERE id = ?', 'pluck').get(lockerId) as
      | string
      | undefined;
    return { siteId: site ?? null, lockerId };
  }

  #siteName(siteId: string): string {
    return (
      (cached(this.db, 'SELECT name FROM sites WHERE id = ?', 'pluck').get(siteId) as string | undefined) ??
      siteId
    );
  }

  #journey(parcelId: string, now: number): Journey {
    const drawn = this.#drawn.get(parcelId);
    if (drawn && now - drawn.at < DRAWN_FOR_MS) return drawn.journey;
    this.#drawn.delete(parcelId);
    const r = recordSummary(this.db, parcelId, now, this.rulesFor);
    const journey = summary(r, now);
    if (r.sealedAt === null) {
      if (this.#drawn.size >= 1000) this.#drawn.delete(this.#drawn.keys().next().value as string);
      this.#drawn.set(parcelId, { at: now, journey });
    }
    return journey;
  }
}

/** The journey as the customer reads it, from its temperature record. */
function summary(r: ReturnType<typeof recordSummary>, now: number): Journey {
  const total = r.from === null || r.to === null ? 0 : r.to - r.from;
  const vanMs = r.legs.reduce((s, l) => s + ((l.to ?? now) - l.from), 0);
  const unknownMs = Math.round(r.minutesUnknown * 60_000);
  return {
    min: r.min,
    max: r.max,
    watchedMs: Math.max(0, total - unknownMs),
    vanMs,
    unwatchedMs: Math.max(0, unknownMs - vanMs),
    outOfRangeMs: Math.round(r.minutesOutOfRange * 60_000),
    range: r.range,
    verdict: r.verdict,
  };
}

function stageOf(p: ParcelView, now: number): PageStage {
  switch (p.state) {
    case 'reserved':
    case 'in_transit':
      return 'coming';
    case 'stored':
      // At its origin, a travelling parcel waits for a driver: its window is not open.
      if (p.pickupExpiresAt === null) return 'coming';
      return p.pickupExpiresAt > now ? 'ready' : 'expired';
    case 'ready':
      return p.pickupExpiresAt !== null && p.pickupExpiresAt <= now ? 'expired' : 'ready';
    case 'quarantined':
      return 'held';
    case 'expired':
      return 'expired';
    case 'cancelled':
      return 'cancelled';
    case 'picked_up':
      return 'collected';
    default:
      return 'withdrawn';
  }
}
