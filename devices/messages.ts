/**
 * Payload schemas for every MQTT message (docs/protocol.md §2). Timestamps are Unix epoch
 * milliseconds; every side derives its types from these schemas.
 */
import { z } from 'zod';
import { LANGUAGES } from './i18n.ts';

/** Payloads above this size are dropped (and counted) by every consumer. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;
/**
 * Payloads above this size are refused by the broker, which drops the connection: a client
 * sending megabytes is broken or hostile. Between the two limits the broker passes the message
 * on and the hub drops it, so a device with one bad message is not caught in a reconnect loop.
 */
export const BROKER_MAX_PAYLOAD_BYTES = 1024 * 1024;
/** A device batches at most this many events in one `events` message. */
export const MAX_EVENTS_PER_MESSAGE = 100;

/** The latest instant a timestamp may name (the end of ECMAScript's time range). */
const MAX_EPOCH_MS = 8.64e15;
const BOOT_ID = /^[A-Za-z0-9_-]{1,40}$/;
/** What a telemetry message may carry: readings, sensor name length, °C. */
const MAX_READINGS = 256;
const MAX_SENSOR_NAME = 64;
const MIN_C = -300;
const MAX_C = 1000;

const MAX_DOOR = 255;
const MESSAGE_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const KEYPAD_CODE = /^[0-9]{4,16}$/;

const epochMs = z.number().int().min(0).max(MAX_EPOCH_MS);
const door = z.number().int().min(1).max(MAX_DOOR);
/** Event and command ids: opaque, stable across re-sends (a UUID or `bootId-seq`). */
export const messageId = z.string().regex(MESSAGE_ID);
export const bootId = z.string().regex(BOOT_ID);
/** A code as typed on a keypad. */
export const keypadCode = z.string().regex(KEYPAD_CODE);
/** A keyed hash of a code (32 bytes in hex), as carried in the offline code table. */
export const codeHash = z.string().regex(/^[0-9a-f]{64}$/);

export const stateMessage = z.discriminatedUnion('online', [
  z.object({
    online: z.literal(true),
    bootId,
    fw: z.string().max(64),
    profile: z.string().max(64),
    ts: epochMs,
    /** Doors its board found closed since it started and not opened since (docs/protocol.md §2.1). */
    doors: z.object({ closed: z.array(door).max(MAX_DOOR) }).optional(),
    /** The code-table format it checks codes against (§3.2); absent: format 1, an older bridge. */
    codes: z.number().int().min(1).max(255).optional(),
  }),
  z.object({ online: z.literal(false), ts: epochMs.optional() }),
]);

export const telemetryMessage = z.object({
  bootId,
  seq: z.number().int().min(0),
  ts: epochMs,
  // Wide on purpose: a broken probe's value (−127 °C for a DS18B20 off its wire) must reach the
  // hub to be flagged as a sensor fault rather than vanish as an invalid message.
  readings: z
    .array(z.object({ sensor: z.string().max(MAX_SENSOR_NAME), c: z.number().min(MIN_C).max(MAX_C) }))
    .max(MAX_READINGS),
  power: z.object({ mains: z.boolean(), batteryV: z.number().min(0).max(100).optional() }).optional(),
  /** Telemetry messages the device had to drop (its buffer full during an outage) just before this one. */
  dropped: z.number().int().min(0).optional(),
});

const eventBase = { id: messageId, seq: z.number().int().min(0), ts: epochMs };

export const deviceEvent = z.discriminatedUnion('type', [
  z.object({ ...eventBase, type: z.literal('door.opened'), door }),
  z.object({ ...eventBase, type: z.literal('door.closed'), door }),
  z.object({ ...eventBase, type: z.literal('lock.released'), door, commandId: messageId.optional() }),
  z.object({ ...eventBase, type: z.literal('presence.changed'), door, present: z.boolean() }),
  z.object({
    ...eventBase,
    type: z.literal('keypad.entry'),
    code: keypadCode,
    keypad: z.string().max(32).optional(),
  }),
  z.object({
    ...eventBase,
    type: z.literal('scan'),
    data: z.string().min(1).max(256),
    symbology: z.string().max(32),
  }),
  z.object({ ...eventBase, type: z.literal('tamper'), detail: z.string().max(256).optional() }),
  z.object({
    ...eventBase,
    type: z.literal('power'),
    mains: z.boolean(),
    batteryV: z.number().min(0).max(100).optional(),
  }),
  z.object({
    ...eventBase,
    type: z.literal('offline.unlock'),
    door,
    h: codeHash,
    kind: z.enum(['deposit', 'pickup', 'driver']),
  }),
  z.object({
    ...eventBase,
    type: z.literal('offline.refused'),
    reason: z.enum(['unknown', 'expired', 'not_yet_valid', 'used', 'no_table', 'throttled']),
  }),
  z.object({
    ...eventBase,
    type: z.literal('board.fault'),
    code: z.string().max(64),
    detail: z.string().max(256).optional(),
  }),
]);

export const eventsMessage = z.object({
  bootId,
  events: z.array(deviceEvent).min(1).max(MAX_EVENTS_PER_MESSAGE),
});

export const eventsAck = z.object({ ids: z.array(messageId).max(MAX_EVENTS_PER_MESSAGE) });

const commandBase = { id: messageId, expiresAt: epochMs };

export const command = z.discriminatedUnion('type', [
  z.object({ ...commandBase, type: z.literal('unlock'), door }),
  z.object({
    ...commandBase,
    type: z.literal('display'),
    text: z.string().max(64),
    /** Sounded with the text: the keypad's verdict heard as well as read. */
    beep: z.enum(['ok', 'error']).optional(),
  }),
  z.object({ ...commandBase, type: z.literal('beep'), pattern: z.enum(['ok', 'error']).default('ok') }),
  z.object({ ...commandBase, type: z.literal('codes.sync'), version: z.number().int().min(0) }),
  z.object({ ...commandBase, type: z.literal('reboot') }),
]);

export const commandResult = z.object({
  id: messageId,
  ok: z.boolean(),
  error: z.string().max(256).optional(),
  ts: epochMs,
});

/** What a cabinet may be asked to spend on one scrypt, in memory (128·N·r bytes). */
export const MAX_OFFLINE_MEMORY = 64 * 1024 * 1024;

/** The scrypt cost of a table's hashes (docs/protocol.md §3.2): N a power of two. */
export const offlineCost = z
  .object({
    N: z
      .number()
      .int()
      .min(2)
      .max(2 ** 20)
      .refine((n) => (n & (n - 1)) === 0, 'a power of two'),
    r: z.number().int().min(1).max(32),
    p: z.number().int().min(1).max(16),
  })
  .refine((c) => 128 * c.N * c.r <= MAX_OFFLINE_MEMORY, 'more memory than a cabinet gives one hash');

export const codesTable = z.object({
  version: z.number().int().min(0),
  /**
   * How `h` is computed: 2 = scrypt of the keyed HMAC under `cost`. Required, so that a bridge never
   * compares its hashes against a table of another kind: it refuses the table, and says so.
   */
  format: z.literal(2),
  cost: offlineCost,
  /** What the cabinet's keypad says when it decides offline (its site's language). */
  language: z.enum(LANGUAGES).optional(),
  entries: z.array(
    z.object({
      h: codeHash,
      doors: z.array(door).min(1),
      kind: z.enum(['deposit', 'pickup', 'driver']),
      notBefore: epochMs,
      expiresAt: epochMs,
      /** Valid only once the entry with this hash has been used at this cabinet (a pickup after its deposit). */
      after: codeHash.optional(),
    }),
  ),
});

export type StateMessage = z.infer<typeof stateMessage>;
export type TelemetryMessage = z.infer<typeof telemetryMessage>;
export type DeviceEvent = z.infer<typeof deviceEvent>;
export type DeviceEventType = DeviceEvent['type'];
export type EventsMessage = z.infer<typeof eventsMessage>;
export type EventsAck = z.infer<typeof eventsAck>;
export type Command = z.infer<typeof command>;
export type CommandInput = z.input<typeof command>;
export type CommandResult = z.infer<typeof commandResult>;
export type CodesTable = z.infer<typeof codesTable>;
export type OfflineCost = z.infer<typeof offlineCost>;

/** The schema for each topic suffix. */
export const schemaFor = {
  state: stateMessage,
  telemetry: telemetryMessage,
  events: eventsMessage,
  'events/ack': eventsAck,
  commands: command,
  'commands/result': commandResult,
  codes: codesTable,
} as const;

export type DecodeResult<T> =
  | { ok: true; value: T }
  | { ok: false; reason: 'too_large' | 'not_json' | 'invalid'; detail: string };

const utf8 = new TextDecoder();

const isWhole = (n: unknown, max: number): n is number =>
  typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && n <= max;

/**
 * Whether a parsed telemetry payload has the plain shape a fleet sends thousands of times a second,
 * checked without the schema: zod copies every object it parses (17 objects for 15 readings), and
 * that was a fifth of the hub's work under a flood. Only exactly the schema's required keys are
 * taken, each value within the schema's limits; the parsed JSON is then used as it is. Anything
 * else — an optional or unknown key, a wrong type or value — goes to the schema, which has the
 * last word and the error message (test/devices/messages.test.ts holds the two to agreeing).
 */
export function isPlainTelemetry(v: unknown): v is TelemetryMessage {
  if (typeof v !== 'object' || v === null) return false;
  const m = v as Record<string, unknown>;
  let keys = 0;
  for (const _ in m) keys++;
  if (keys !== 4) return false;
  if (typeof m.bootId !== 'string' || !BOOT_ID.test(m.bootId)) return false;
  if (!isWhole(m.seq, Number.MAX_SAFE_INTEGER) || !isWhole(m.ts, MAX_EPOCH_MS)) return false;
  const readings = m.readings;
  if (!Array.isArray(readings) || readings.length > MAX_READINGS) return false;
  for (const r of readings) {
    if (typeof r !== 'object' || r === null) return false;
    let n = 0;
    for (const _ in r) n++;
    const { sensor, c } = r as { sensor: unknown; c: unknown };
    if (n !== 2 || typeof sensor !== 'string' || sensor.length > MAX_SENSOR_NAME) return false;
    if (typeof c !== 'number' || !(c >= MIN_C && c <= MAX_C)) return false;
  }
  return true;
}

/**
 * The same for an `events` message whose events are all of the kinds a customer waits on or a
 * fleet sends most (door opened or closed, goods present or taken, a keypad entry without its
 * optional keypad name), each with exactly its required keys: zod took 90 µs for a keypad entry
 * on an idle hub (cold), the first step of every code → unlock. Anything else goes to the schema.
 */
export function isPlainEvents(v: unknown): v is EventsMessage {
  if (typeof v !== 'object' || v === null) return false;
  const m = v as Record<string, unknown>;
  let keys = 0;
  for (const _ in m) keys++;
  if (keys !== 2 || typeof m.bootId !== 'string' || !BOOT_ID.test(m.bootId)) return false;
  const events = m.events;
  if (!Array.isArray(events) || events.length < 1 || events.length > MAX_EVENTS_PER_MESSAGE) return false;
  for (const e of events) {
    if (typeof e !== 'object' || e === null) return false;
    let n = 0;
    for (const _ in e) n++;
    const ev = e as Record<string, unknown>;
    if (typeof ev.id !== 'string' || !MESSAGE_ID.test(ev.id)) return false;
    if (!isWhole(ev.seq, Number.MAX_SAFE_INTEGER) || !isWhole(ev.ts, MAX_EPOCH_MS)) return false;
    // Each kind: the four keys of every event (id, seq, ts, type) and its own.
    switch (ev.type) {
      case 'door.opened':
      case 'door.closed':
        if (n !== 5 || !isWhole(ev.door, MAX_DOOR) || ev.door < 1) return false;
        break;
      case 'presence.changed':
        if (n !== 6 || !isWhole(ev.door, MAX_DOOR) || ev.door < 1 || typeof ev.present !== 'boolean')
          return false;
        break;
      case 'keypad.entry':
        if (n !== 5 || typeof ev.code !== 'string' || !KEYPAD_CODE.test(ev.code)) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** Decodes a payload for a suffix: size limit, JSON, then schema. Never throws. */
export function decodePayload<S extends keyof typeof schemaFor>(
  suffix: S,
  payload: Uint8Array,
): DecodeResult<z.infer<(typeof schemaFor)[S]>> {
  if (payload.byteLength > MAX_PAYLOAD_BYTES) {
    return { ok: false, reason: 'too_large', detail: `${payload.byteLength} bytes > ${MAX_PAYLOAD_BYTES}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(payload));
  } catch (err) {
    return { ok: false, reason: 'not_json', detail: (err as Error).message };
  }
  if ((suffix === 'telemetry' && isPlainTelemetry(json)) || (suffix === 'events' && isPlainEvents(json)))
    return { ok: true, value: json as z.infer<(typeof schemaFor)[S]> };
  const parsed = schemaFor[suffix].safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return {
      ok: false,
      reason: 'invalid',
      detail: first ? `${first.path.join('.')}: ${first.message}` : 'invalid',
    };
  }
  return { ok: true, value: parsed.data as z.infer<(typeof schemaFor)[S]> };
}
