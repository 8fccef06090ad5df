/**
 * Linux input events (`/dev/input/event*`), for keypads and barcode scanners plugged into the Pi
 * (docs/protocol.md §6). Pure: the bridge feeds the bytes it reads.
 *
 * `struct input_event` is a timeval then u16 type, u16 code, s32 value, little-endian: 24 bytes
 * on 64-bit kernels (the default of Raspberry Pi OS since 2022), 16 bytes on 32-bit ones.
 */
export const EV_KEY = 1;
export type EventSize = 16 | 24;

export interface KeyEvent {
  code: number;
  /** 1 pressed, 0 released, 2 auto-repeat */
  value: number;
}

export class EvdevDecoder {
  #buf = new Uint8Array(0);

  constructor(private readonly size: EventSize = 24) {}

  push(chunk: Uint8Array): KeyEvent[] {
    const buf = new Uint8Array(this.#buf.length + chunk.length);
    buf.set(this.#buf);
    buf.set(chunk, this.#buf.length);
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const out: KeyEvent[] = [];
    let i = 0;
    for (; i + this.size <= buf.length; i += this.size) {
      const at = i + this.size - 8;
      if (view.getUint16(at, true) !== EV_KEY) continue;
      out.push({ code: view.getUint16(at + 2, true), value: view.getInt32(at + 4, true) });
    }
    this.#buf = buf.slice(i);
    return out;
  }
}

/** Encodes one key event (for simulators and tests). */
export function encodeKeyEvent(code: number, value: number, size: EventSize = 24): Uint8Array {
  const b = new Uint8Array(size);
  const view = new DataView(b.buffer);
  view.setUint16(size - 8, EV_KEY, true);
  view.setUint16(size - 6, code, true);
  view.setInt32(size - 4, value, true);
  return b;
}

// Linux key codes (include/uapi/linux/input-event-codes.h) → characters, unshifted and shifted.
const ROWS: Array<[number, string, string]> = [
  [2, '1', '!'],
  [3, '2', '@'],
  [4, '3', '#'],
  [5, '4', '$'],
  [6, '5', '%'],
  [7, '6', '^'],
  [8, '7', '&'],
  [9, '8', '*'],
  [10, '9', '('],
  [11, '0', ')'],
  [12, '-', '_'],
  [13, '=', '+'],
  [26, '[', '{'],
  [27, ']', '}'],
  [39, ';', ':'],
  [40, "'", '"'],
  [41, '`', '~'],
  [43, '\\', '|'],
  [51, ',', '<'],
  [52, '.', '>'],
  [53, '/', '?'],
  [57, ' ', ' '],
  [16, 'q', 'Q'],
  [17, 'w', 'W'],
  [18, 'e', 'E'],
  [19, 'r', 'R'],
  [20, 't', 'T'],
  [21, 'y', 'Y'],
  [22, 'u', 'U'],
  [23, 'i', 'I'],
  [24, 'o', 'O'],
  [25, 'p', 'P'],
  [30, 'a', 'A'],
  [31, 's', 'S'],
  [32, 'd', 'D'],
  [33, 'f', 'F'],
  [34, 'g', 'G'],
  [35, 'h', 'H'],
  [36, 'j', 'J'],
  [37, 'k', 'K'],
  [38, 'l', 'L'],
  [44, 'z', 'Z'],
  [45, 'x', 'X'],
  [46, 'c', 'C'],
  [47, 'v', 'V'],
  [48, 'b', 'B'],
  [49, 'n', 'N'],
  [50, 'm', 'M'],
  // numeric keypad
  [82, '0', '0'],
  [79, '1', '1'],
  [80, '2', '2'],
  [81, '3', '3'],
  [75, '4', '4'],
  [76, '5', '5'],
  [77, '6', '6'],
  [71, '7', '7'],
  [72, '8', '8'],
  [73, '9', '9'],
  [55, '*', '*'],
  [74, '-', '-'],
  [78, '+', '+'],
  [83, '.', '.'],
  [98, '/', '/'],
];
const CHARS = new Map(ROWS.map(([code, plain, shifted]) => [code, [plain, shifted] as const]));
const SHIFT = new Set([42, 54]); // left and right shift
const ENTER = new Set([28, 96]); // enter, keypad enter
const BACKSPACE = 14;
const ESCAPE = 1;
/** Scanners in keyboard mode send the GS1 group separator as Ctrl+] or as F8: both map to GS (0x1D). */
const F8 = 66;
const CTRL = new Set([29, 97]);

/**
 * Turns key presses into lines: one per Enter. Shift is tracked for scanners; Backspace deletes,
 * Escape clears (a keypad's "C" key is usually mapped to it).
 */
export class KeyLineAssembler {
  #line = '';
  #shift = false;
  #ctrl = false;

  constructor(private readonly maxLength = 256) {}

  push(events: KeyEvent[]): string[] {
    const lines: string[] = [];
    for (const e of events) {
      if (SHIFT.has(e.code)) this.#shift = e.value !== 0;
      else if (CTRL.has(e.code)) this.#ctrl = e.value !== 0;
      else if (e.value !== 1) continue;
      else if (ENTER.has(e.code)) {
        lines.push(this.#line);
        this.#line = '';
      } else if (e.code === BACKSPACE) this.#line = this.#line.slice(0, -1);
      else if (e.code === ESCAPE) this.#line = '';
      else if (e.code === F8 || (this.#ctrl && e.code === 27)) this.#add('\u001d');
      else {
        const c = CHARS.get(e.code);
        if (c) this.#add(this.#shift ? c[1] : c[0]);
      }
    }
    return lines;
  }

  #add(ch: string): void {
    if (this.#line.length < this.maxLength) this.#line += ch;
  }
}

/** Key codes that type `text` on a US keyboard layout, with shift where needed (for simulators). */
export function keysFor(text: string): number[][] {
  const out: number[][] = [];
  for (const ch of text) {
    if (ch === '\u001d') {
      out.push([F8]);
      continue;
    }
    const row = ROWS.find(([, plain, shifted]) => plain === ch || shifted === ch);
    if (!row) throw new Error(`no key for ${JSON.stringify(ch)}`);
    out.push(row[1] === ch ? [row[0]] : [42, row[0]]);
  }
  return out;
}
