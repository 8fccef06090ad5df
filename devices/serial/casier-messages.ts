/**
 * The casier serial protocol, message layer (docs/protocol.md §4.3): what each frame type
 * carries. `encodeMessage`/`decodeMessage` map typed messages to frame type + payload and back.
 * Multi-byte integers are big-endian.
 */
export const TYPE = {
  ack: 0x00,
  hello: 0x01,
  unlock: 0x10,
  statusRequest: 0x11,
  display: 0x12,
  beep: 0x13,
  contact: 0x20,
  keypad: 0x21,
  scan: 0x22,
  temperatures: 0x23,
  status: 0x24,
  lockResult: 0x25,
  presence: 0x26,
  power: 0x27,
  fault: 0x2f,
} as const;

export type Message =
  /** Either side: the frame with this SEQ arrived intact. ACKs are never acknowledged. */
  | { type: 'ack' }
  /** Board → host, at boot: firmware version and channel counts. */
  | { type: 'hello'; fwMajor: number; fwMinor: number; locks: number; inputs: number; sensors: number }
  /** Host → board: pulse one lock channel. */
  | { type: 'unlock'; channel: number; pulseMs: number }
  | { type: 'statusRequest' }
  | { type: 'display'; text: string }
  | { type: 'beep'; pattern: number }
  /** Board → host: a door contact changed (closed = true). */
  | { type: 'contact'; channel: number; closed: boolean }
  /** Board → host: a code typed on the board's keypad, ASCII digits. */
  | { type: 'keypad'; code: string }
  | { type: 'scan'; symbology: number; data: string }
  /** Board → host: sensor readings in hundredths of a degree Celsius. */
  | { type: 'temperatures'; readings: Array<{ channel: number; centi: number }> }
  /** Board → host, in answer to statusRequest: one bit per channel, bit 0 = channel 0. */
  | { type: 'status'; contactsClosed: number; present: number }
  | { type: 'lockResult'; channel: number; ok: boolean }
  | { type: 'presence'; channel: number; present: boolean }
  /** Board → host, on every change: on mains or on battery, and the battery's voltage in 10 mV. */
  | { type: 'power'; mains: boolean; centiV: number }
  | { type: 'fault'; code: number; detail: string };

const ascii = new TextEncoder();
const text = new TextDecoder('latin1');

export function encodeMessage(m: Message): { type: number; payload: Uint8Array } {
  const p = (...bytes: number[]) => Uint8Array.from(bytes);
  switch (m.type) {
    case 'ack':
      return { type: TYPE.ack, payload: p() };
    case 'hello':
      return { type: TYPE.hello, payload: p(m.fwMajor, m.fwMinor, m.locks, m.inputs, m.sensors) };
    case 'unlock':
      return { type: TYPE.unlock, payload: p(m.channel, m.pulseMs >> 8, m.pulseMs & 0xff) };
    case 'statusRequest':
      return { type: TYPE.statusRequest, payload: p() };
    case 'display':
      return { type: TYPE.display, payload: ascii.encode(m.text.slice(0, 64)) };
    case 'beep':
      return { type: TYPE.beep, payload: p(m.pattern) };
    case 'contact':
      return { type: TYPE.contact, payload: p(m.channel, m.closed ? 1 : 0) };
    case 'keypad':
      return { type: TYPE.keypad, payload: ascii.encode(m.code) };
    case 'scan':
      return {
        type: TYPE.scan,
        payload: Uint8Array.from([m.symbology, ...ascii.encode(m.data.slice(0, 63))]),
      };
    case 'temperatures':
      return {
        type: TYPE.temperatures,
        payload: Uint8Array.from(
          m.readings.slice(0, 21).flatMap((r) => [r.channel, (r.centi >> 8) & 0xff, r.centi & 0xff]),
        ),
      };
    case 'status':
      return {
        type: TYPE.status,
        payload: p(m.contactsClosed >> 8, m.contactsClosed & 0xff, m.present >> 8, m.present & 0xff),
      };
    case 'lockResult':
      return { type: TYPE.lockResult, payload: p(m.channel, m.ok ? 1 : 0) };
    case 'presence':
      return { type: TYPE.presence, payload: p(m.channel, m.present ? 1 : 0) };
    case 'power':
      return { type: TYPE.power, payload: p(m.mains ? 1 : 0, m.centiV >> 8, m.centiV & 0xff) };
    case 'fault':
      return { type: TYPE.fault, payload: Uint8Array.from([m.code, ...ascii.encode(m.detail.slice(0, 63))]) };
  }
}

/** Decodes a frame's type and payload; null for an unknown type or a payload of the wrong size. */
export function decodeMessage(type: number, b: Uint8Array): Message | null {
  const n = b.length;
  switch (type) {
    case TYPE.ack:
      return n === 0 ? { type: 'ack' } : null;
    case TYPE.hello:
      return n === 5
        ? {
            type: 'hello',
            fwMajor: b[0] as number,
            fwMinor: b[1] as number,
            locks: b[2] as number,
            inputs: b[3] as number,
            sensors: b[4] as number,
          }
        : null;
    case TYPE.unlock:
      return n === 3
        ? { type: 'unlock', channel: b[0] as number, pulseMs: ((b[1] as number) << 8) | (b[2] as number) }
        : null;
    case TYPE.statusRequest:
      return n === 0 ? { type: 'statusRequest' } : null;
    case TYPE.display:
      return { type: 'display', text: text.decode(b) };
    case TYPE.beep:
      return n === 1 ? { type: 'beep', pattern: b[0] as number } : null;
    case TYPE.contact:
      return n === 2 && (b[1] as number) <= 1
        ? { type: 'contact', channel: b[0] as number, closed: b[1] === 1 }
        : null;
    case TYPE.keypad: {
      const code = text.decode(b);
      return /^[0-9]{1,32}$/.test(code) ? { type: 'keypad', code } : null;
    }
    case TYPE.scan:
      return n >= 2 ? { type: 'scan', symbology: b[0] as number, data: text.decode(b.subarray(1)) } : null;
    case TYPE.temperatures: {
      if (n % 3 !== 0) return null;
      const readings = [];
      for (let i = 0; i < n; i += 3) {
        const raw = ((b[i + 1] as number) << 8) | (b[i + 2] as number);
        readings.push({ channel: b[i] as number, centi: raw >= 0x8000 ? raw - 0x10000 : raw });
      }
      return { type: 'temperatures', readings };
    }
    case TYPE.status:
      return n === 4
        ? {
            type: 'status',
            contactsClosed: ((b[0] as number) << 8) | (b[1] as number),
            present: ((b[2] as number) << 8) | (b[3] as number),
          }
        : null;
    case TYPE.lockResult:
      return n === 2 && (b[1] as number) <= 1
        ? { type: 'lockResult', channel: b[0] as number, ok: b[1] === 1 }
        : null;
    case TYPE.presence:
      return n === 2 && (b[1] as number) <= 1
        ? { type: 'presence', channel: b[0] as number, present: b[1] === 1 }
        : null;
    case TYPE.power:
      return n === 3 && (b[0] as number) <= 1
        ? { type: 'power', mains: b[0] === 1, centiV: ((b[1] as number) << 8) | (b[2] as number) }
        : null;
    case TYPE.fault:
      return n >= 1 ? { type: 'fault', code: b[0] as number, detail: text.decode(b.subarray(1)) } : null;
    default:
      return null;
  }
}
