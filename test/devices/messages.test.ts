import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePayload, MAX_PAYLOAD_BYTES } from '../../devices/index.ts';

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
