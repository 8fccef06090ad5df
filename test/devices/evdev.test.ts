import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EvdevDecoder, encodeKeyEvent, KeyLineAssembler, keysFor } from '../../devices/index.ts';

const press = (codes: number[], size: 16 | 24 = 24) => {
  const out: Uint8Array[] = [];
  for (const c of codes) out.push(encodeKeyEvent(c, 1, size));
  for (const c of [...codes].reverse()) out.push(encodeKeyEvent(c, 0, size));
  return out;
};
const typing = (text: string, size: 16 | 24 = 24) =>
  Uint8Array.from([...keysFor(text), [28]].flatMap((k) => press(k, size)).flatMap((b) => [...b]));

describe('Linux input events', () => {
  it('decodes a key press from its 24 bytes (64-bit layout)', () => {
    const ev = encodeKeyEvent(79, 1); // KEY_KP1 pressed
    expect([...ev.slice(16)]).toEqual([0x01, 0x00, 0x4f, 0x00, 0x01, 0x00, 0x00, 0x00]);
    expect(new EvdevDecoder(24).push(ev)).toEqual([{ code: 79, value: 1 }]);
  });

  it('turns a keypad code and Enter into one line, whatever the chunking', () => {
    const bytes = typing('48213907');
    for (let cut = 0; cut <= bytes.length; cut += 7) {
      const d = new EvdevDecoder();
      const a = new KeyLineAssembler();
      const lines = [...a.push(d.push(bytes.slice(0, cut))), ...a.push(d.push(bytes.slice(cut)))];
      expect(lines, `cut at ${cut}`).toEqual(['48213907']);
    }
  });

  it('reads a scanner in keyboard mode: shift, symbology prefix and the GS1 separator', () => {
    const text = ']C10106141411234567\u001d10LOT-7B';
    expect(new KeyLineAssembler().push(new EvdevDecoder(16).push(typing(text, 16)))).toEqual([text]);
  });

  it('lets Backspace fix a digit and Escape start again', () => {
    const keys = [
      ...press([5]),
      ...press([14]),
      ...press([6]),
      ...press([1]),
      ...press([2]),
      ...press([3]),
      ...press([28]),
    ];
    const bytes = Uint8Array.from(keys.flatMap((b) => [...b]));
    expect(new KeyLineAssembler().push(new EvdevDecoder().push(bytes))).toEqual(['12']);
  });

  it('round-trips any printable text (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9 !#%&()*+,./:;<=>?@_-]{0,40}$/), (text) => {
        expect(new KeyLineAssembler().push(new EvdevDecoder().push(typing(text)))).toEqual([text]);
      }),
    );
  });
});
