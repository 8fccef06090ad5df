/**
 * What the hub's HTTP API answers: one zod schema per response body. The hub's routes declare
 * them (served in the OpenAPI document at /api/v1/openapi.json, and checked against every answer
 * while the tests run); the dashboard and the live feed take their types from them, so no side
 * keeps a copy by hand. Objects are strict: a field the hub sends must be declared here first.
 *
 * Import it as a namespace (`* as api`, from devices/api.ts): its names are those of
 * the bodies (`parcel`, `lockerView`), short where they are read.
 */
import { z } from 'zod';
import { LANGUAGES } from './i18n.ts';
import { productCategory, size, temperatureClass } from './profiles/schema.ts';

const int = z.number().int();
const ms = z.number().int().describe('ms since the epoch');

export const PARCEL_STATES = [
  'reserved',
  'stored',
  'in_transit',
  'ready',
  'picked_up',
  'expired',
  'cancelled',
  'quarantined',
  'discarded',
  'returned',
  /** A returned parcel its producer took back out of the box with their return code. */
  'retrieved_by_producer',
] as const;
export type ParcelState = (typeof PARCEL_STATES)[number];
export const parcelState = z.enum(PARCEL_STATES);

// --- Sites and lockers (also the live feed's views, devices/live.ts) ---

export const siteView = z.strictObject({
  id: z.string(),
  name: z.string(),
  lockers: int,
  online: int,
  /**
   * The site's line to the central broker, as the site's own broker last said (docs/operations.md
   * §9), and since when (hub clock, ms); null when the site has no broker of its own.
   */
  line: z.strictObject({ up: z.boolean(), since: ms }).nullable(),
  /** What its people read: its language and time zone, its own or the hub's. */
  language: z.enum(LANGUAGES),
  timeZone: z.string(),
});
export type SiteView = z.infer<typeof siteView>;

export const compartmentView = z.strictObject({
  door: int,
  size,
  temperatureClass,
  sensor: z.string().nullable(),
  doorState: z.string(),
  occupied: z.boolean(),
  parcel: z.strictObject({ id: z.string(), state: z.string() }).nullable(),
  /** A remote or code opening under way (`deposit`, `pickup`, `remote`, …), null when none. */
  opening: z.string().nullable(),
  temperature: z.strictObject({ c: z.number().nullable(), at: ms, stale: z.boolean() }).nullable(),
  /** Where the door sits in the cabinet front (from the cabinet's profile), for drawing it. */
  layout: z.strictObject({ col: int, row: int, rows: int }).nullable(),
  /**
   * What the door's item sensor last said (`inside`: goods in, `empty`, `unknown`: nothing said
   * since it was fitted); null where the cabinet's profile gives the door no such sensor.
   */
  goods: z.enum(['inside', 'empty', 'unknown']).nullable(),
});
export type CompartmentView = z.infer<typeof compartmentView>;

export const lockerSummary = z.strictObject({
  id: z.string(),
  siteId: z.string(),
  profile: z.string(),
  online: z.boolean(),
  bootId: z.string().nullable(),
  firmware: z.string().nullable(),
  lastSeen: ms.nullable(),
  createdAt: ms,
});
export type LockerSummary = z.infer<typeof lockerSummary>;

export const lockerView = lockerSummary.extend({ compartments: z.array(compartmentView) });
export type LockerView = z.infer<typeof lockerView>;

export const ALARM_STATES = ['raised', 'acknowledged', 'cleared'] as const;
export type AlarmState = (typeof ALARM_STATES)[number];

export const alarmView = z.strictObject({
  id: z.string(),
  lockerId: z.string(),
  sensor: z.string().nullable(),
  kind: z.string(),
  level: z.enum(['warning', 'critical']),
  state: z.enum(ALARM_STATES),
  raisedAt: ms,
  since: ms.nullable(),
  acknowledged: z
    .strictObject({ at: ms, by: z.string().nullable(), comment: z.string().nullable() })
    .nullable(),
  clearedAt: ms.nullable(),
  details: z.record(z.string(), z.unknown()),
});
export type AlarmView = z.infer<typeof alarmView>;

/** One row of the audit ledger. */
export const ledgerEvent = z.strictObject({
  seq: int,
  ts: ms,
  type: z.string(),
  actor: z.string(),
  lockerId: z.string().nullable(),
  door: int.nullable(),
  parcelId: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
});
export type LedgerEventView = z.infer<typeof ledgerEvent>;

// --- Parcels ---

export const parcel = z.strictObject({
  id: z.string(),
  state: parcelState,
  siteId: z.string(),
  lockerId: z.string(),
  door: int,
  size,
  temperatureClass,
  /** What it holds (PRODUCT_CATEGORIES): its own legal limits; null: its class's. */
  category: productCategory.nullable(),
  recipient: z.strictObject({
    name: z.string(),
    phone: z.string().optional(),
    email: z.string().optional(),
    /** Their page's and notices' language; absent: the destination site's. */
    language: z.enum(LANGUAGES).optional(),
  }),
  sscc: z.string().nullable(),
  reference: z.string().nullable(),
  createdAt: ms,
  updatedAt: ms,
  depositExpiresAt: ms,
  storedAt: ms.nullable(),
  pickupExpiresAt: ms.nullable(),
  pickedUpAt: ms.nullable(),
  /** Where a travelling parcel goes; null for one collected where it was deposited. */
  destination: z.strictObject({ lockerId: z.string().nullable(), siteId: z.string().nullable() }).nullable(),
  /** The driver carrying it (`in_transit`). */
  custody: z.string().nullable(),
  producerId: z.string().nullable(),
  inTransitAt: ms.nullable(),
  readyAt: ms.nullable(),
});
export type Parcel = z.infer<typeof parcel>;

/** A parcel's timeline: the ledger events that concern it. */
export const timelineEvent = ledgerEvent.omit({ parcelId: true });
export type TimelineEvent = z.infer<typeof timelineEvent>;

/** What a code is for: `return` is the producer's code to take back a parcel returned to its box. */
export const CODE_KINDS = ['deposit', 'pickup', 'return'] as const;
/**
 * `pending`: not valid yet (a pickup code until the goods are in); `active`: works until
 * `expiresAt`; `used`; `expired`; `revoked`: stopped before use (the parcel cancelled, discarded
 * or taken out, or a newer code issued in its place).
 */
export const CODE_STATES = ['pending', 'active', 'used', 'expired', 'revoked'] as const;

/** The state of one of a parcel's codes, never the code: the hub keeps only its keyed hash. */
export const codeView = z.strictObject({
  kind: z.enum(CODE_KINDS),
  state: z.enum(CODE_STATES),
  lockerId: z.string(),
  door: int,
  notBefore: ms.nullable(),
  expiresAt: ms.nullable(),
  usedAt: ms.nullable(),
});
export type CodeView = z.infer<typeof codeView>;

export const parcelWithTimeline = parcel.extend({
  /** Its codes, oldest first. */
  codes: z.array(codeView),
  timeline: z.array(timelineEvent),
});
export type ParcelWithTimeline = z.infer<typeof parcelWithTimeline>;

/** A new parcel and its codes, shown once: the hub keeps only keyed hashes. */
export const parcelCreated = z.strictObject({ parcel, depositCode: z.string(), pickupCode: z.string() });

export const parcelList = z.strictObject({ parcels: z.array(parcel) });
export type ParcelList = z.infer<typeof parcelList>;

/** A parcel's page for its customer (docs/api.md): its link, and the link as a QR code for a label. */
export const customerLink = z.strictObject({ url: z.string(), qrSvg: z.string() });

export const returnCode = z.strictObject({
  code: z.string(),
  lockerId: z.string(),
  door: int,
  expiresAt: ms,
});

/** A customer's return: the new parcel bound for its producer's box, and its deposit code (shown once). */
export const customerReturn = z.strictObject({ parcel, depositCode: z.string(), returnOf: z.string() });

/**
 * `unknown`: nothing out of range was seen, but part of the time was not watched (no reading from
 * the compartment's sensor, or a leg in a van): that time never counts as in range.
 */
export const VERDICTS = ['ok', 'unknown', 'excursion', 'breached'] as const;

/** One stay of the parcel in a compartment, and what its sensor read meanwhile. */
export const recordStay = z.strictObject({
  lockerId: z.string(),
  door: int,
  sensor: z.string().nullable(),
  from: ms,
  /** Null: it is still there. */
  to: ms.nullable(),
  readings: int,
  min: z.number().nullable(),
  max: z.number().nullable(),
  /** Time in the stay without a reading (gaps beyond 5 minutes, before the first, after the last). */
  minutesUnknown: z.number(),
});

/** The time between two stays: in a van, watched by nothing casier knows of. */
export const recordLeg = z.strictObject({
  from: ms,
  to: ms.nullable(),
  minutes: z.number(),
  monitored: z.boolean(),
});

/** A parcel's temperature record from deposit to pickup (or now): every stay, every leg. */
export const temperatureRecord = z.strictObject({
  parcelId: z.string(),
  temperatureClass,
  range: z.strictObject({ min: z.number().nullable(), max: z.number() }),
  /** The sensor of the latest stay. */
  sensor: z.string().nullable(),
  from: ms.nullable(),
  to: ms.nullable(),
  readings: int,
  min: z.number().nullable(),
  max: z.number().nullable(),
  mean: z.number().nullable(),
  /** Mean kinetic temperature. */
  mkt: z.number().nullable(),
  minutesOutOfRange: z.number(),
  breach: z.strictObject({ at: ms, reason: z.string().nullable() }).nullable(),
  alarms: z.array(alarmView),
  /** Time not watched: in stays without readings, and on legs. */
  minutesUnknown: z.number(),
  stays: z.array(recordStay),
  legs: z.array(recordLeg),
  verdict: z.enum(VERDICTS),
  /** When the record was sealed (at pickup); null while the parcel is in casier's custody. */
  sealedAt: ms.nullable(),
  /**
   * `reading`: every reading; `5m`: 5-minute means, once the raw readings' retention (90 days)
   * has passed for a sealed record.
   */
  seriesStep: z.enum(['reading', '5m']),
  series: z.array(z.strictObject({ ts: ms, c: z.number() })),
});
export type TemperatureRecord = z.infer<typeof temperatureRecord>;

// --- People, rounds, settings ---

/** A driver, their keypad code and their API token: both shown once. */
export const driverCreated = z.strictObject({
  id: z.string(),
  name: z.string(),
  code: z.string(),
  token: z.string(),
  /** Their round: the sites where their code and their token open anything. */
  sites: z.array(z.string()),
  expiresAt: ms.nullable(),
});

/** A driver as listed: `active` is false once revoked or expired. */
export const driverList = z.strictObject({
  drivers: z.array(
    z.strictObject({
      id: z.string(),
      name: z.string(),
      sites: z.array(z.string()).nullable(),
      createdAt: ms,
      expiresAt: ms.nullable(),
      active: z.boolean(),
    }),
  ),
});

/** A request to open several doors at once, and what became of it (a second operator decides). */
export const openRequest = z.strictObject({
  id: z.string(),
  lockerId: z.string(),
  doors: z.array(int),
  reason: z.string(),
  retrieve: z.boolean(),
  /** The token that asked. */
  requestedBy: z.string(),
  requestedAt: ms,
  expiresAt: ms,
  state: z.enum(['pending', 'approved', 'rejected', 'expired']),
  decidedBy: z.string().nullable(),
  decidedAt: ms.nullable(),
});
export const openRequestList = z.strictObject({ requests: z.array(openRequest) });
/** A decided request; on approval, the unlock command of each door. */
export const openRequestDecided = openRequest.extend({ commandIds: z.array(z.string()) });

export const TOKEN_ROLES = ['operator', 'integration', 'driver', 'producer'] as const;

/**
 * An API token as listed, never its secret. `subject`: the producer or driver it speaks for, or an
 * integration's platform; `sites`: where it may act (null: everywhere).
 */
export const tokenView = z.strictObject({
  id: z.string(),
  role: z.enum(TOKEN_ROLES),
  name: z.string(),
  subject: z.string().nullable(),
  sites: z.array(z.string()).nullable(),
  createdAt: ms,
  expiresAt: ms.nullable(),
  revokedAt: ms.nullable(),
  maxReservations: int.nullable(),
  /** Who created it: `token:<id>` through the API, `cli` on the hub's machine. */
  createdBy: z.string().nullable(),
});
export const tokenList = z.strictObject({ tokens: z.array(tokenView) });
/** A new token: the secret is shown once. */
export const tokenCreated = z.strictObject({
  id: z.string(),
  token: z.string(),
  role: z.enum(TOKEN_ROLES),
  name: z.string(),
});

/** A producer and their API token, shown once. */
export const producerCreated = z.strictObject({ id: z.string(), name: z.string(), token: z.string() });

const roundParcel = z.strictObject({
  id: z.string(),
  sscc: z.string().nullable(),
  door: int,
  size,
  temperatureClass,
  destination: z.strictObject({ lockerId: z.string().nullable(), siteId: z.string().nullable() }),
});
/** `at`: the locker the parcels wait in, or where they go (a locker, or `site:<id>`). */
const roundStop = z.strictObject({ at: z.string(), parcels: z.array(roundParcel) });

export const round = z.strictObject({
  driver: z.strictObject({ id: z.string(), name: z.string() }),
  collect: z.array(roundStop),
  deliver: z.array(roundStop),
});
export type Round = z.infer<typeof round>;

export const doorsOpened = z.strictObject({ doors: z.array(int) });
export const labelScanned = z.strictObject({ sscc: z.string(), doors: z.array(int) });

export const DRIVER_DOORS = ['sequential', 'all'] as const;
/**
 * `language` and `timeZone`: what the site's people read (null: the hub's); `extend`: how many
 * hours a customer may add to their pickup window each time, and how many times (0: never).
 */
export const siteSettings = z.strictObject({
  siteId: z.string(),
  driverDoors: z.enum(DRIVER_DOORS),
  language: z.enum(LANGUAGES).nullable(),
  timeZone: z.string().nullable(),
  extend: z.strictObject({ hours: int, times: int }),
});

export const siteList = z.strictObject({ sites: z.array(siteView) });
export const lockerList = z.strictObject({ lockers: z.array(lockerSummary) });

// --- Commands and the audit trail ---

export const commandAccepted = z.strictObject({ commandId: z.string(), expiresAt: ms });
export type CommandAccepted = z.infer<typeof commandAccepted>;

/** A command sent to a cabinet and its outcome. */
export const commandView = z.strictObject({
  id: z.string(),
  lockerId: z.string(),
  type: z.string(),
  body: z.record(z.string(), z.unknown()),
  state: z.enum(['pending', 'sent', 'done', 'failed', 'expired']),
  /** Each sending, counted within a second. */
  attempts: int,
  createdAt: ms,
  expiresAt: ms,
  doneAt: ms.nullable(),
  error: z.string().nullable(),
});
export type CommandView = z.infer<typeof commandView>;

export const eventList = z.strictObject({
  events: z.array(
    ledgerEvent.extend({
      hash: z
        .string()
        .describe("HMAC-SHA-256 under a key derived from the hub's key, chained to the previous row"),
    }),
  ),
});

export const ledgerCheck = z.strictObject({
  ok: z.boolean(),
  events: int,
  /** The first row that does not hold (edited, forged, out of place or missing), if any. */
  brokenAt: int.optional(),
  /** What was found, in words: `event 7 does not match its hash`, `anchor mismatch: …`. */
  problem: z.string().optional(),
  lastHash: z.string(),
  /** The `ledger.keyed` event of a store an older casier chained without a key. */
  keyedFrom: int.optional(),
  /** The last anchor (`--audit-anchor`) and whether the ledger still holds it. */
  anchor: z.strictObject({ seq: int, ok: z.boolean() }).optional(),
});

// --- Cold chain ---

const threshold = z.strictObject({ above: z.number(), forMinutes: z.number() });

/** A temperature class's thresholds at a site, in minutes (docs/operations.md §8). */
export const classRules = z.strictObject({
  keepMin: z.number().nullable(),
  keepMax: z.number(),
  warn: threshold,
  critical: threshold.nullable(),
  cumulativeMinutes: z.number().nullable(),
});
export type ClassRules = z.infer<typeof classRules>;

export const siteRules = z.strictObject({ ambient: classRules, chilled: classRules, frozen: classRules });
export type SiteRules = z.infer<typeof siteRules>;

export const alarmList = z.strictObject({ alarms: z.array(alarmView) });
export type AlarmList = z.infer<typeof alarmList>;

const span = { sensor: z.string(), from: ms, to: ms };
export const readings = z.discriminatedUnion('resolution', [
  z.strictObject({
    ...span,
    resolution: z.literal('raw'),
    points: z.array(z.strictObject({ ts: ms, c: z.number() })),
  }),
  z.strictObject({
    ...span,
    resolution: z.literal('5m'),
    /** One point per 5 minutes: its start, min, max, mean and how many readings. */
    points: z.array(z.strictObject({ ts: ms, min: z.number(), max: z.number(), mean: z.number(), n: int })),
  }),
]);
export type Readings = z.infer<typeof readings>;

/** Who a site's alarms are e-mailed to, in order of their delays. */
export const alarmContacts = z.strictObject({
  contacts: z.array(z.strictObject({ email: z.string(), afterMinutes: int })),
});

/** A sensor's calibration against a reference thermometer. */
export const calibration = z.strictObject({
  /** Added to every reading since `calibratedAt` (°C). */
  offsetC: z.number(),
  calibratedAt: ms,
  reference: z.string().nullable(),
});

export const dailySheet = z.strictObject({
  lockerId: z.string(),
  date: z.iso.date(),
  /** The site's time zone: the day runs from its midnight (`from`) to the next (`to`). */
  timeZone: z.string(),
  from: ms,
  to: ms,
  sensors: z.array(
    z.strictObject({
      sensor: z.string(),
      /** `door:class` of each compartment the sensor watches, comma-separated. */
      doors: z.string().nullable(),
      /** Its calibration, as now; null: never calibrated. */
      calibration: calibration.nullable(),
      min: z.number().nullable(),
      max: z.number().nullable(),
      mean: z.number().nullable(),
      readings: int,
      alarms: int,
    }),
  ),
});
export type DailySheet = z.infer<typeof dailySheet>;

// --- Webhooks ---

/** A webhook and its signing secret, shown once. */
export const webhookCreated = z.strictObject({ id: z.string(), url: z.string(), secret: z.string() });

export const webhookList = z.strictObject({
  webhooks: z.array(
    z.strictObject({
      id: z.string(),
      url: z.string(),
      /** `parcels`: the state changes of the parcels the token created; `alarms`: every alarm's life. */
      topic: z.enum(['parcels', 'alarms']),
      createdAt: ms,
      active: z.boolean(),
    }),
  ),
});
