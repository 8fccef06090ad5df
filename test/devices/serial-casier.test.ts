import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CasierFramer,
  crc16,
  decodeMessage,
  encodeFrame,
  encodeMessage,
  type Frame,
  MAX_PAYLOAD,
  type Message,
} from '../../devices/index.ts';

const hex = (s: string) => Uint8Array.from(s.split(' ').map((b) => Number.parseInt(b, 16)));
// docs/protocol.md §4.4: unlock channel 2 for 500 ms (seq 7), keypad "48213907" (seq 12), ACK of seq 7
const UNLOCK = hex('a5 03 07 10 02 01 f4 4e 49');
const KEYPAD = hex('a5 08 0c 21 34 38 32 31 33 39 30 37 f3 e2');
const ACK = hex('a5 00 07 00 55 0b');

const cat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
const plain = (frames: Frame[]) => frames.map((f) => ({ seq: f.seq, type: f.type, payload: [...f.payload] }));

describe('CRC-16/CCITT-FALSE', () => {
  it('gives the standard check value', () => {
    expect(crc16(new TextEncoder().encode('123456789'))).toBe(0x29b1);
  });
});

describe('casier frames', () => {
  it('encodes the documented vectors', () => {
    expect(encodeFrame({ seq: 7, ...encodeMessage({ type: 'unlock', channel: 2, pulseMs: 500 }) })).toEqual(
      UNLOCK,
    );
    expect(encodeFrame({ seq: 12, ...encodeMessage({ type: 'keypad', code: '48213907' }) })).toEqual(KEYPAD);
    expect(encodeFrame({ seq: 7, ...encodeMessage({ type: 'ack' }) })).toEqual(ACK);
  });

  it('cuts two frames out of one chunk', () => {
    const { frames, dropped } = new CasierFramer().push(cat(UNLOCK, KEYPAD));
    expect(frames.map((f) => f.seq)).toEqual([7, 12]);
    expect(decodeMessage(frames[1]?.type as number, frames[1]?.payload as Uint8Array)).toEqual({
      type: 'keypad',
      code: '48213907',
    });
    expect(dropped).toEqual([]);
  });

  it('reassembles a frame split at every byte offset', () => {
    const stream = cat(UNLOCK, KEYPAD);
    for (let cut = 0; cut <= stream.length; cut++) {
      const framer = new CasierFramer();
      const a = framer.push(stream.slice(0, cut));
      const b = framer.push(stream.slice(cut));
      expect(
        [...a.frames, ...b.frames].map((f) => f.seq),
        `cut at ${cut}`,
      ).toEqual([7, 12]);
      expect(framer.pending).toBe(0);
    }
  });

  it('skips garbage before the start byte and reports it', () => {
    const { frames, dropped } = new CasierFramer().push(cat(hex('00 ff 13 37'), UNLOCK));
    expect(frames).toHaveLength(1);
    expect(dropped).toEqual([{ reason: 'garbage', bytes: 4 }]);
  });

  it('skips a frame with a bad CRC and goes on with the next one', () => {
    const bad = UNLOCK.slice();
    bad[5] = (bad[5] as number) ^ 0x01; // one flipped bit in the payload
    const { frames, dropped } = new CasierFramer().push(cat(bad, KEYPAD));
    expect(frames.map((f) => f.seq)).toEqual([12]);
    expect(dropped[0]).toEqual({ reason: 'bad_crc', bytes: 1 });
  });

  it('refuses a length above the maximum without waiting for it', () => {
    const { frames, dropped } = new CasierFramer().push(
      cat(hex(`a5 ${(MAX_PAYLOAD + 1).toString(16)} 00 00`), ACK),
    );
    expect(frames.map((f) => f.type)).toEqual([0]);
    expect(dropped[0]).toEqual({ reason: 'bad_length', bytes: 1 });
  });

  it('holds a truncated tail, then resynchronises on the next frame', () => {
    const framer = new CasierFramer();
    expect(framer.push(KEYPAD.slice(0, 9)).frames).toEqual([]);
    expect(framer.pending).toBe(9);
    // the rest never comes; the next frames arrive instead
    const { frames } = framer.push(cat(UNLOCK, ACK, KEYPAD));
    expect(frames.map((f) => f.seq)).toContain(12);
    expect(frames.map((f) => f.seq).slice(-1)).toEqual([12]);
  });

  it('round-trips any frames through any chunking (property)', () => {
    const frame = fc.record({
      seq: fc.integer({ min: 0, max: 255 }),
      type: fc.integer({ min: 0, max: 255 }),
      payload: fc.uint8Array({ maxLength: MAX_PAYLOAD }),
    });
    fc.assert(
      fc.property(
        fc.array(frame, { maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1 }),
        (frames, sizes) => {
          const stream = cat(...frames.map(encodeFrame));
          const framer = new CasierFramer();
          const got: Frame[] = [];
          for (let i = 0, k = 0; i < stream.length; k++) {
            const n = sizes[k % sizes.length] as number;
            got.push(...framer.push(stream.slice(i, i + n)).frames);
            i += n;
          }
          expect(plain(got)).toEqual(plain(frames));
        },
      ),
    );
  });

  it('never delivers a corrupted frame as valid when bits flip (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: MAX_PAYLOAD }),
        fc.integer({ min: 0 }),
        fc.integer({ min: 0, max: 7 }),
        (payload, at, bit) => {
          const f = encodeFrame({ seq: 1, type: 0x21, payload });
          const i = 1 + (at % (f.length - 1)); // not the start byte
          f[i] = (f[i] as number) ^ (1 << bit);
          const { frames } = new CasierFramer().push(f);
          expect(frames).toEqual([]);
        },
      ),
    );
  });
});

describe('casier messages', () => {
  const samples: Message[] = [
    { type: 'ack' },
    { type: 'hello', fwMajor: 1, fwMinor: 4, locks: 8, inputs: 8, sensors: 7 },
    { type: 'unlock', channel: 15, pulseMs: 800 },
    { type: 'statusRequest' },
    { type: 'display', text: 'Door 3 open' },
    { type: 'beep', pattern: 2 },
    { type: 'contact', channel: 3, closed: false },
    { type: 'keypad', code: '00000001' },
    { type: 'scan', symbology: 1, data: ']C1001234567890123456' },
    {
      type: 'temperatures',
      readings: [
        { channel: 0, centi: 345 },
        { channel: 4, centi: -1920 },
      ],
    },
    { type: 'status', contactsClosed: 0xfffe, present: 0x0001 },
    { type: 'lockResult', channel: 2, ok: true },
    { type: 'presence', channel: 2, present: true },
    { type: 'power', mains: false, centiV: 1210 },
    { type: 'fault', code: 3, detail: 'relay 3 stuck' },
  ];
  it.each(samples.map((m) => [m.type, m] as const))('%s round-trips', (_t, m) => {
    const { type, payload } = encodeMessage(m);
    expect(decodeMessage(type, payload)).toEqual(m);
  });

  it('refuses unknown types and payloads of the wrong size', () => {
    expect(decodeMessage(0x7f, new Uint8Array())).toBeNull();
    expect(decodeMessage(0x10, Uint8Array.from([1, 2]))).toBeNull();
    expect(decodeMessage(0x21, new TextEncoder().encode('12a4'))).toBeNull();
    expect(decodeMessage(0x20, Uint8Array.from([1, 7]))).toBeNull();
    expect(decodeMessage(0x27, Uint8Array.from([2, 4, 186]))).toBeNull();
  });
});
