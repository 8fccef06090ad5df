import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodePayload,
  eventsMessage,
  isPlainEvents,
  isPlainTelemetry,
  MAX_PAYLOAD_BYTES,
  telemetryMessage,
} from '../../devices/index.ts';

const enc = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

describe('decodePayload', () => {
  it('accepts a well-formed events batch', () => {
    const r = decodePayload(
      'events',
      enc({
        bootId: 'b1',
        events: [{ id: 'b1-1', seq: 1, ts: 1764400000000, type: 'door.opened', door: 3 }],
      }),
    );
    expect(r).toMatchObject({ ok: true, value: { events: [{ type: 'door.opened', door: 3 }] } });
  });

  it('says why it refuses: too large, not JSON, or which field is wrong', () => {
    expect(decodePayload('events', Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 32))).toMatchObject({
      ok: false,
      reason: 'too_large',
    });
    expect(decodePayload('events', enc('{"bootId":'))).toMatchObject({ ok: false, reason: 'not_json' });
    expect(
      decodePayload(
        'events',
        enc({ bootId: 'b1', events: [{ id: 'x', seq: 1, ts: 1, type: 'door.opened', door: 0 }] }),
      ),
    ).toMatchObject({ ok: false, reason: 'invalid', detail: expect.stringMatching(/^events\.0\.door: /) });
    expect(decodePayload('events', enc({ bootId: 'b1', events: [] }))).toMatchObject({
      ok: false,
      reason: 'invalid',
    });
    expect(
      decodePayload(
        'events',
        enc({ bootId: 'b1', events: [{ id: 'x', seq: 1, ts: 1, type: 'door.exploded', door: 1 }] }),
      ),
    ).toMatchObject({ ok: false, reason: 'invalid' });
  });

  it('accepts only digit codes of 4 to 16 digits in keypad entries', () => {
    const entry = (code: unknown) =>
      enc({ bootId: 'b', events: [{ id: 'x', seq: 1, ts: 1, type: 'keypad.entry', code }] });
    expect(decodePayload('events', entry('12345678')).ok).toBe(true);
    for (const bad of ['123', '12345678901234567', '1234abcd', 12345678, ''])
      expect(decodePayload('events', entry(bad)).ok).toBe(false);
  });

  it('never throws, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        for (const s of [
          'state',
          'telemetry',
          'events',
          'commands',
          'commands/result',
          'events/ack',
          'codes',
        ] as const) {
          expect(decodePayload(s, bytes).ok).toBe(false);
        }
      }),
    );
    fc.assert(
      fc.property(fc.json(), (json) => {
        decodePayload('events', enc(json));
      }),
    );
  });
});

/**
 * A check that takes payloads without the schema takes only what the schema accepts, as the
 * schema gives it back; the property is exercised on every side (taken, left to the schema,
 * refused).
 */
function holdsToSchema(
  payloads: fc.Arbitrary<unknown>,
  schema: { safeParse(v: unknown): { success: boolean; data?: unknown } },
  fast: (v: unknown) => boolean,
): void {
  const seen = { fast: 0, schemaOnly: 0, refused: 0 };
  fc.assert(
    fc.property(payloads, (generated) => {
      const v: unknown = JSON.parse(JSON.stringify(generated) ?? 'null'); // what a payload can hold
      const parsed = schema.safeParse(v);
      if (fast(v)) {
        seen.fast++;
        expect(parsed.success).toBe(true);
        expect(parsed.data).toEqual(v);
      } else if (parsed.success) seen.schemaOnly++;
      else seen.refused++;
    }),
    { numRuns: 3000 },
  );
  expect(seen.fast).toBeGreaterThan(50);
  expect(seen.schemaOnly).toBeGreaterThan(50);
  expect(seen.refused).toBeGreaterThan(50);
}

describe('telemetry checked without the schema', () => {
  it('takes only what the schema accepts, as the schema gives it back; the rest goes to the schema', () => {
    const c = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.constantFrom(-300, -300.0001, 1000, 1000.0001, 0, 3.5, -19),
      fc.string({ maxLength: 3 }),
      fc.constant(null),
    );
    const sensor = fc.oneof(
      fc.string({ maxLength: 70 }),
      fc.constantFrom('t1', 'a'.repeat(64), 'a'.repeat(65), 'é'.repeat(64)),
      fc.integer(),
    );
    const reading = fc.oneof(
      {
        weight: 40,
        arbitrary: fc.record({
          sensor: fc.string({ maxLength: 64 }),
          c: fc.double({ min: -300, max: 1000, noNaN: true }),
        }),
      },
      { weight: 4, arbitrary: fc.record({ sensor, c }) },
      fc.record({ sensor, c, extra: fc.integer() }),
      fc.record({ sensor }),
      fc.constant(null),
      fc.array(fc.integer(), { maxLength: 2 }),
    );
    const core = fc.record({
      bootId: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom('b1', 'x'.repeat(40)) },
        fc.constantFrom('x'.repeat(41), 'bad id', '', 'é'),
        fc.string({ maxLength: 45 }),
      ),
      seq: fc.oneof(
        { weight: 4, arbitrary: fc.nat() },
        fc.constantFrom(-1, 1.5, 2 ** 53, Number.MAX_SAFE_INTEGER, '1'),
      ),
      ts: fc.oneof(
        { weight: 4, arbitrary: fc.constant(1764400000000) },
        fc.constantFrom(8.64e15, 8.64e15 + 2, -1, 1.5, null),
        fc.nat(),
      ),
      readings: fc.oneof(
        { weight: 6, arbitrary: fc.array(reading, { maxLength: 16 }) },
        fc.array(fc.constant({ sensor: 't1', c: 3 }), { minLength: 255, maxLength: 258 }),
        fc.constant({}),
      ),
    });
    const more = fc.oneof(
      { weight: 6, arbitrary: fc.constant({}) },
      fc.record({ power: fc.record({ mains: fc.boolean() }) }),
      fc.record({ dropped: fc.nat() }),
      fc.record({ extra: fc.string() }),
    );
    const missing = fc.oneof(
      { weight: 8, arbitrary: fc.constant(null) },
      fc.constantFrom('bootId', 'seq', 'ts', 'readings'),
    );
    const message = fc.tuple(core, more, missing).map(([m, extra, drop]) => {
      const out: Record<string, unknown> = { ...m, ...extra };
      if (drop) delete out[drop];
      return out;
    });
    holdsToSchema(
      fc.oneof(
        { weight: 9, arbitrary: message },
        fc.json().map((j) => JSON.parse(j)),
      ),
      telemetryMessage,
      isPlainTelemetry,
    );
  });
});

describe('events checked without the schema', () => {
  it('takes only what the schema accepts, as the schema gives it back; the rest goes to the schema', () => {
    const whole = (good: fc.Arbitrary<number>, bad: number[]) =>
      fc.oneof({ weight: 6, arbitrary: good }, fc.constantFrom(...bad), fc.constant('1'), fc.constant(null));
    const base = {
      id: fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom('b-1', 'a1b2c3-41', 'x'.repeat(64), 'u:1.2_3') },
        fc.constantFrom('', 'x'.repeat(65), 'bad id', 'é'),
        fc.string({ maxLength: 8 }),
      ),
      seq: whole(fc.nat(), [-1, 1.5, 2 ** 53]),
      ts: whole(fc.constant(1764400000000), [8.64e15 + 2, -1, 0.5]),
    };
    const door = whole(fc.integer({ min: 1, max: 255 }), [0, 256, 1.5, -3]);
    const event = fc.oneof(
      fc.record({ ...base, type: fc.constantFrom('door.opened', 'door.closed'), door }),
      fc.record({
        ...base,
        type: fc.constant('presence.changed'),
        door,
        present: fc.oneof(fc.boolean(), fc.constant(1)),
      }),
      fc.record({
        ...base,
        type: fc.constant('keypad.entry'),
        code: fc.oneof(
          { weight: 6, arbitrary: fc.stringMatching(/^[0-9]{4,16}$/) },
          fc.constantFrom('123', '1'.repeat(17), '12a4', ''),
        ),
      }),
      // Kinds and shapes left to the schema: optional keys, extra keys, keys missing, other kinds.
      fc.record({
        ...base,
        type: fc.constant('keypad.entry'),
        code: fc.constant('1234'),
        keypad: fc.string({ maxLength: 4 }),
      }),
      fc.record({ ...base, type: fc.constant('door.opened'), door: fc.constant(2), extra: fc.nat() }),
      fc.record({ ...base, type: fc.constant('presence.changed'), door: fc.constant(2) }),
      fc.record({ ...base, type: fc.constant('lock.released'), door: fc.constant(2) }),
      fc.record({ ...base, type: fc.constant('tamper') }),
      fc.record({ ...base, type: fc.constantFrom('door.ajar', 7), door: fc.constant(2) }),
    );
    const message = fc.record({
      bootId: fc.oneof(
        { weight: 6, arbitrary: fc.constant('a1b2c3') },
        fc.constantFrom('', 'x'.repeat(41), 'bad id'),
      ),
      events: fc.oneof(
        { weight: 8, arbitrary: fc.array(event, { minLength: 1, maxLength: 4 }) },
        fc.constant([]),
        fc.array(fc.constant({ id: 'b-1', seq: 1, ts: 1, type: 'door.opened', door: 1 }), {
          minLength: 100,
          maxLength: 101,
        }),
      ),
    });
    holdsToSchema(
      fc.oneof(
        { weight: 9, arbitrary: message },
        fc.record({ bootId: fc.constant('b'), events: fc.array(event, { maxLength: 2 }), extra: fc.nat() }),
        fc.json().map((j) => JSON.parse(j)),
      ),
      eventsMessage,
      isPlainEvents,
    );
  });
});
