import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { krcu16 } from '../../devices/index.ts';

const hex = (s: string) => Uint8Array.from(s.split(' ').map((b) => Number.parseInt(b, 16)));
const cat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

describe('KR-CU16', () => {
  it('encodes the requests of SPEC §7', () => {
    expect(krcu16.encodeRequest(0, krcu16.CMD.unlock, 1)).toEqual(hex('02 00 31 03 36'));
    expect(krcu16.encodeRequest(1, krcu16.CMD.status)).toEqual(hex('02 10 30 03 45'));
    expect(krcu16.encodeRequest(1, krcu16.CMD.unlock, 16)).toEqual(hex('02 1f 31 03 55'));
    expect(() => krcu16.encodeRequest(16, krcu16.CMD.status)).toThrow(RangeError);
  });

  it('decodes a status reply: lock bits then item-present bits, low lock first', () => {
    const reply = krcu16.encodeStatusReply({ board: 1, lockBits: 0x8001, presentBits: 0x0102 });
    expect(reply).toEqual(hex('02 10 35 01 80 02 01 03 ce'));
    expect(krcu16.decodeStatusReply(reply)).toEqual({ board: 1, lockBits: 0x8001, presentBits: 0x0102 });
  });

  it('cuts replies out of a stream split at every offset, with garbage and a bad checksum', () => {
    const a = krcu16.encodeStatusReply({ board: 0, lockBits: 0xffff, presentBits: 0 });
    const b = krcu16.encodeStatusReply({ board: 1, lockBits: 0x0004, presentBits: 0x0004 });
    const bad = b.slice();
    bad[3] = 0x55;
    const stream = cat(hex('ff 00'), a, bad, b);
    for (let cut = 0; cut <= stream.length; cut++) {
      const framer = new krcu16.FixedFramer(krcu16.REPLY_LENGTH);
      const frames = [...framer.push(stream.slice(0, cut)).frames, ...framer.push(stream.slice(cut)).frames];
      expect(
        frames.map((f) => krcu16.decodeStatusReply(f)?.board),
        `cut at ${cut}`,
      ).toEqual([0, 1]);
    }
  });

  it('round-trips requests and replies (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 15 }),
        fc.integer({ min: 1, max: 16 }),
        fc.constantFrom(0x30, 0x31, 0x32, 0x33),
        (board, lock, cmd) => {
          expect(krcu16.decodeRequest(krcu16.encodeRequest(board, cmd, lock))).toEqual({ board, lock, cmd });
        },
      ),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 15 }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffff }),
        (board, lockBits, presentBits) => {
          expect(
            krcu16.decodeStatusReply(krcu16.encodeStatusReply({ board, lockBits, presentBits })),
          ).toEqual({ board, lockBits, presentBits });
        },
      ),
    );
  });
});
