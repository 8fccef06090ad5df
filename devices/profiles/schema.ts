/**
 * Cabinet profiles: how a cabinet is built (doors, sizes, temperature classes, sensors) and how
 * each door maps to hardware channels on its controller board. Declarative data, checked by
 * `checkProfile` and by the registry test.
 */
import { z } from 'zod';
import { ID_PATTERN } from '../topics.ts';

export const SIZES = ['S', 'M', 'L'] as const;
/** The controller boards a bridge has a driver for. */
export const BOARDS = ['casier', 'kr-cu16', 'firmata'] as const;
export const TEMPERATURE_CLASSES = ['ambient', 'chilled', 'frozen'] as const;
export type Size = (typeof SIZES)[number];
export type TemperatureClass = (typeof TEMPERATURE_CLASSES)[number];

export const size = z.enum(SIZES);
export const temperatureClass = z.enum(TEMPERATURE_CLASSES);

/**
 * What a parcel holds, with the limits French law sets for it (Arrêté du 21 décembre 2009,
 * annexes I and II: the highest temperature allowed in storage and transport) and the class of
 * compartment it needs. A parcel of one of these is allocated only to a compartment reading within
 * its limits, and its time out of them counts against them, not its class's.
 */
export const PRODUCT_CATEGORIES = {
  minced_meat: { temperatureClass: 'chilled', minC: null, maxC: 2 },
  offal: { temperatureClass: 'chilled', minC: null, maxC: 3 },
  fresh_fish: { temperatureClass: 'chilled', minC: 0, maxC: 2 },
  very_perishable: { temperatureClass: 'chilled', minC: null, maxC: 4 },
  perishable_dairy: { temperatureClass: 'chilled', minC: null, maxC: 8 },
  // −18 °C, brief rises to −15 °C tolerated: the frozen class's own rules.
  frozen_food: { temperatureClass: 'frozen', minC: null, maxC: -18 },
  other_frozen: { temperatureClass: 'frozen', minC: null, maxC: -12 },
} as const satisfies Record<
  string,
  { temperatureClass: TemperatureClass; minC: number | null; maxC: number }
>;
export type ProductCategory = keyof typeof PRODUCT_CATEGORIES;
export const productCategory = z.enum(
  Object.keys(PRODUCT_CATEGORIES) as [ProductCategory, ...ProductCategory[]],
);

/** A hardware channel: which board on the bus and which output/input on it. */
const channel = z.object({
  board: z.number().int().min(0).max(15).default(0),
  channel: z.number().int().min(0).max(63),
});

export const compartmentSpec = z.object({
  door: z.number().int().min(1).max(255),
  size,
  temperatureClass,
  /** The sensor id that watches this compartment (required for chilled and frozen). */
  sensor: z.string().max(64).optional(),
  lock: channel,
  /** Door contact input; boards such as the KR-CU16 report the door through the lock channel instead. */
  contact: channel.optional(),
  /**
   * The board says whether goods are inside (a KR-CU16's item sensor, the casier board's presence
   * input): a pickup that leaves goods behind or a deposit that puts nothing in is then caught.
   * Not set where no sensor is fitted: a missing sensor reads "empty".
   */
  presence: z.boolean().optional(),
  /** Position in the cabinet front, for drawing it: column, row (top = 0) and height in rows. */
  layout: z.object({
    col: z.number().int().min(0),
    row: z.number().int().min(0),
    rows: z.number().int().min(1),
  }),
});

export const sensorSpec = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/),
  kind: z.enum(['ds18b20', 'ntc', 'sht31', 'tmp36']),
  channel,
});

/**
 * A keypad or barcode scanner plugged into the Pi rather than the board: a Linux input device
 * (`evdev`, e.g. a USB keypad or a scanner in keyboard mode) or a serial device sending lines.
 */
export const inputSpec = z.object({
  kind: z.enum(['keypad', 'scanner']),
  source: z.enum(['evdev', 'lines']),
  /** A stable path: /dev/input/by-path/… names the USB port the cabinet builder wires it to. */
  path: z.string().min(1),
  baud: z.number().int().positive().optional(),
  /** Size of a Linux input event: 24 on 64-bit kernels, 16 on 32-bit ones. */
  eventSize: z.union([z.literal(16), z.literal(24)]).optional(),
});

export type InputSpec = z.infer<typeof inputSpec>;

export const lockerProfile = z.object({
  name: z.string().regex(ID_PATTERN),
  description: z.string(),
  board: z.enum(BOARDS),
  keypad: z.boolean(),
  scanner: z.boolean(),
  compartments: z.array(compartmentSpec).min(1),
  sensors: z.array(sensorSpec),
  inputs: z.array(inputSpec).default([]),
});

export type CompartmentSpec = z.infer<typeof compartmentSpec>;
export type LockerProfile = z.infer<typeof lockerProfile>;

/** Consistency rules a schema cannot express. Returns one `path: message` per problem. */
export function checkProfile(p: LockerProfile): string[] {
  const problems: string[] = [];
  const doors = p.compartments.map((c) => c.door).sort((a, b) => a - b);
  doors.forEach((d, i) => {
    if (d !== i + 1) problems.push(`compartments: doors must be numbered 1..${doors.length} without gaps`);
  });
  const sensorIds = new Set(p.sensors.map((s) => s.id));
  if (sensorIds.size !== p.sensors.length) problems.push('sensors: duplicate sensor id');
  const locks = new Set<string>();
  for (const c of p.compartments) {
    const key = `${c.lock.board}:${c.lock.channel}`;
    if (locks.has(key)) problems.push(`compartments.${c.door}.lock: channel ${key} used twice`);
    locks.add(key);
    if (c.temperatureClass !== 'ambient' && !c.sensor) {
      problems.push(`compartments.${c.door}.sensor: a ${c.temperatureClass} compartment needs a sensor`);
    }
    if (c.sensor && !sensorIds.has(c.sensor)) {
      problems.push(`compartments.${c.door}.sensor: unknown sensor ${c.sensor}`);
    }
  }
  problems.push(...boardRules(p));
  return [...new Set(problems)];
}

/** What each board can wire: channels it has, pins it keeps for itself. */
function boardRules(p: LockerProfile): string[] {
  const problems: string[] = [];
  if (p.board === 'kr-cu16') {
    for (const c of p.compartments) {
      if (c.lock.channel > 15)
        problems.push(`compartments.${c.door}.lock.channel: a KR-CU16 board has locks 0-15 (lock 1-16)`);
      if (c.contact)
        problems.push(
          `compartments.${c.door}.contact: a KR-CU16 reads the door through its lock: no contact`,
        );
    }
  }
  if (p.board === 'firmata') {
    const pins = new Map<number, string>();
    for (const c of p.compartments) {
      for (const [what, ch] of [
        ['lock', c.lock],
        ['contact', c.contact],
      ] as const) {
        if (!ch) continue;
        const at = `compartments.${c.door}.${what}.channel`;
        if (ch.board !== 0) problems.push(`${at}: a Firmata board is one board (board 0)`);
        if (ch.channel < 2 || ch.channel > 13)
          problems.push(`${at}: Arduino pins D2-D13 (D0 and D1 carry the serial line)`);
        const taken = pins.get(ch.channel);
        if (taken) problems.push(`${at}: pin D${ch.channel} already used by ${taken}`);
        pins.set(ch.channel, at);
      }
      // StandardFirmata reports digital pins and analog inputs, no item sensor: "present" would
      // always read "empty", and every deposit would be refused.
      if (c.presence) problems.push(`compartments.${c.door}.presence: a Firmata board reads no item sensor`);
    }
    for (const s of p.sensors) {
      if (s.kind !== 'tmp36') problems.push(`sensors.${s.id}.kind: a Firmata board reads TMP36 sensors only`);
      if (s.channel.channel > 5) problems.push(`sensors.${s.id}.channel: analog inputs A0-A5`);
    }
  }
  return problems;
}
