/**
 * An Arduino running StandardFirmata, simulated on a serial line: relays on digital outputs for
 * the locks, door contacts on digital inputs with pull-ups (a closed door pulls the pin low),
 * TMP36 temperature sensors on analog inputs. Speaks enough of the Firmata protocol for
 * firmata-io and johnny-five: version, firmware, capabilities, analog mapping, pin modes,
 * digital and analog reporting.
 *
 * It is StandardFirmata 2.4, as the real firmware the tests also run in avr8js
 * (test/fixtures/firmata), down to its pull-ups: a contact reads high only while open and its
 * pull-up is on, and a DIGITAL_MESSAGE writes INPUT pins too, a 1 turning the pull-up on and a 0
 * turning it off (`digitalWriteCallback` in examples/StandardFirmata of github.com/firmata/arduino
 * up to v2.4.4). No PULLUP mode nor SET_DIGITAL_PIN_VALUE: both came with 2.5.
 */
import { EventEmitter } from 'node:events';
import type { LockerProfile } from '../../devices/index.ts';
import { type Line, openLine } from './serial.ts';

const REPORT_VERSION = 0xf9;
const START_SYSEX = 0xf0;
const END_SYSEX = 0xf7;
const DIGITAL_MESSAGE = 0x90;
const ANALOG_MESSAGE = 0xe0;
const REPORT_ANALOG = 0xc0;
const REPORT_DIGITAL = 0xd0;
const SET_PIN_MODE = 0xf4;
const SYSTEM_RESET = 0xff;
const PIN_COUNT = 20; // an Uno: D0-D13, A0-A5 as pins 14-19
const ANALOG_OFFSET = 14;
const INPUT = 0;
const OUTPUT = 1;
/** The protocol version StandardFirmata 2.4 reports. */
const VERSION = [2, 4] as const;

export interface FirmataBoardOptions {
  /** A serial port's path, or the board's end of an in-memory line. */
  path: string | Line;
  profile: LockerProfile;
  latchMs?: number;
}

export class FirmataBoardSim extends EventEmitter {
  /** `value`: the level an output drives; `pullup`: an input's pull-up, its PORT bit. */
  readonly #pins = Array.from({ length: PIN_COUNT }, () => ({ mode: INPUT, value: 0, pullup: false }));
  /** Contacts open: each pin has a switch to ground, closed while its door is (doors start closed). */
  readonly #open = new Set<number>();
  /** Ports reported, with the value last sent. */
  readonly #reportPorts = new Map<number, number>();
  readonly #reportAnalog = new Set<number>();
  readonly #released = new Map<number, NodeJS.Timeout>();
  /** °C per analog channel. */
  readonly temperatures = new Map<number, number>();
  /** Every lock (relay pin) energised, in order. */
  readonly unlocked: number[] = [];
  #line: Line | undefined;
  #buf: number[] = [];
  #analogTimer: NodeJS.Timeout | undefined;

  constructor(readonly opts: FirmataBoardOptions) {
    super();
    for (const s of opts.profile.sensors) this.temperatures.set(s.channel.channel, 4);
  }

  async start(): Promise<void> {
    this.#line = await openLine(this.opts.path, 57600);
    this.#line.onData((chunk) => {
      for (const b of chunk) this.#byte(b);
    });
    this.#analogTimer = setInterval(() => {
      for (const ch of this.#reportAnalog) this.#analog(ch);
    }, 100);
    this.#send([REPORT_VERSION, ...VERSION]); // what a board says after a reset
  }

  async stop(): Promise<void> {
    clearInterval(this.#analogTimer);
    for (const t of this.#released.values()) clearTimeout(t);
    await this.#line?.close();
  }

  /** Pulls a door open: only while its lock is released, unless forced. */
  openDoor(door: number, opts: { force?: boolean } = {}): boolean {
    const c = this.#door(door);
    if (!this.#released.has(c.lock.channel) && !opts.force) return false;
    this.#setContact(c.contact?.channel as number, true);
    return true;
  }

  closeDoor(door: number): void {
    this.#setContact(this.#door(door).contact?.channel as number, false);
  }

  /** Whether `pin`'s pull-up is on (an input whose PORT bit is set). */
  pullup(pin: number): boolean {
    const p = this.#pins[pin];
    return p?.mode === INPUT && p.pullup;
  }

  #door(door: number) {
    const c = this.opts.profile.compartments.find((x) => x.door === door);
    if (!c?.contact) throw new Error(`no door ${door} with a contact`);
    return c;
  }

  #setContact(pin: number, open: boolean): void {
    if (open) this.#open.add(pin);
    else this.#open.delete(pin);
    this.#checkInputs(pin >> 3);
  }

  /** What an input pin reads: high only with its switch open and its pull-up on; floating reads low. */
  #level(pin: number): number {
    const p = this.#pins[pin];
    return p?.mode === INPUT && p.pullup && this.#open.has(pin) ? 1 : 0;
  }

  /** The port's INPUT pins (others read as 0, as StandardFirmata masks them). */
  #portValue(port: number): number {
    let v = 0;
    for (let i = 0; i < 8; i++) if (this.#level(port * 8 + i)) v |= 1 << i;
    return v;
  }

  /** As StandardFirmata's loop does: a reported port is sent when its inputs read differently. */
  #checkInputs(port: number): void {
    const last = this.#reportPorts.get(port);
    if (last !== undefined && last !== this.#portValue(port)) this.#digitalPort(port);
  }

  #send(bytes: number[]): void {
    this.#line?.write(Uint8Array.from(bytes));
  }

  #digitalPort(port: number): void {
    const v = this.#portValue(port);
    this.#reportPorts.set(port, v);
    this.#send([DIGITAL_MESSAGE | port, v & 0x7f, v >> 7]);
  }

  #analog(channel: number): void {
    // TMP36: 10 mV/°C with 500 mV at 0 °C, read by a 10-bit ADC against 5 V.
    const c = this.temperatures.get(channel) ?? 20;
    const raw = Math.max(0, Math.min(1023, Math.round(((c * 10 + 500) / 5000) * 1024)));
    this.#send([ANALOG_MESSAGE | channel, raw & 0x7f, raw >> 7]);
  }

  #byte(b: number): void {
    const buf = this.#buf;
    if (b === START_SYSEX) {
      this.#buf = [b];
      return;
    }
    if (buf[0] === START_SYSEX) {
      buf.push(b);
      if (b === END_SYSEX) {
        this.#sysex(buf.slice(1, -1));
        this.#buf = [];
      }
      return;
    }
    if (b & 0x80) this.#buf = [b];
    else buf.push(b);
    const cmd = (this.#buf[0] as number) < 0xf0 ? (this.#buf[0] as number) & 0xf0 : (this.#buf[0] as number);
    if (cmd === REPORT_VERSION) {
      this.#send([REPORT_VERSION, ...VERSION]);
      this.#buf = [];
    } else if (cmd === SYSTEM_RESET) {
      this.#buf = [];
    } else if (this.#buf.length === (cmd === REPORT_ANALOG || cmd === REPORT_DIGITAL ? 2 : 3)) {
      // REPORT_ANALOG and REPORT_DIGITAL carry one data byte, the other messages two
      this.#midi([...this.#buf, 0] as [number, number, number]);
      this.#buf = [];
    }
  }

  #midi([first, a, b]: [number, number, number]): void {
    const cmd = first < 0xf0 ? first & 0xf0 : first;
    const ch = first & 0x0f;
    if (cmd === REPORT_DIGITAL) {
      if (a) this.#digitalPort(ch);
      else this.#reportPorts.delete(ch);
    } else if (cmd === REPORT_ANALOG) {
      if (a) this.#reportAnalog.add(ch);
      else this.#reportAnalog.delete(ch);
    } else if (first === SET_PIN_MODE) {
      const pin = this.#pins[a];
      if (!pin) return;
      pin.mode = b;
      // INPUT: "disable internal pull-ups"; OUTPUT: written LOW first (setPinModeCallback).
      if (b === INPUT) pin.pullup = false;
      if (b === OUTPUT) pin.value = 0;
      this.#checkInputs(a >> 3);
    } else if (cmd === DIGITAL_MESSAGE) {
      // The whole port: outputs take their bit, and so do inputs' pull-ups (2.4 and before).
      const v = a | (b << 7);
      for (let i = 0; i < 8; i++) {
        const pin = ch * 8 + i;
        const p = this.#pins[pin];
        if (pin < 2 || !p) continue; // D0-D1 are the serial line
        if (p.mode === OUTPUT) this.#output(pin, (v >> i) & 1);
        else if (p.mode === INPUT) p.pullup = ((v >> i) & 1) === 1;
      }
      this.#checkInputs(ch);
    }
    // SET_DIGITAL_PIN_VALUE (0xF5) is 2.5's: 2.4 ignores it, as here.
  }

  /** A relay pin going high releases that lock's latch for a while. */
  #output(pin: number, value: number): void {
    const p = this.#pins[pin];
    if (!p) return;
    const rising = value === 1 && p.value === 0;
    p.value = value;
    if (!rising || !this.opts.profile.compartments.some((c) => c.lock.channel === pin)) return;
    this.unlocked.push(pin);
    clearTimeout(this.#released.get(pin));
    this.#released.set(
      pin,
      setTimeout(() => this.#released.delete(pin), this.opts.latchMs ?? 8000),
    );
    const door = this.opts.profile.compartments.find((c) => c.lock.channel === pin)?.door;
    this.emit('unlocked', door, pin);
  }

  #sysex(data: number[]): void {
    const [cmd] = data;
    if (cmd === 0x79) {
      // QUERY_FIRMWARE: version then the name, each character as two 7-bit bytes
      const name = [...'casier-sim.ino'].flatMap((c) => [c.charCodeAt(0) & 0x7f, c.charCodeAt(0) >> 7]);
      this.#send([START_SYSEX, 0x79, ...VERSION, ...name, END_SYSEX]);
    } else if (cmd === 0x6b) {
      // CAPABILITY_QUERY: digital in/out everywhere, 10-bit analog on A0-A5 (no PULLUP mode in 2.4)
      const pins = Array.from({ length: PIN_COUNT }, (_, i) => [
        0,
        1,
        1,
        1,
        ...(i >= ANALOG_OFFSET ? [2, 10] : []),
        0x7f,
      ]);
      this.#send([START_SYSEX, 0x6c, ...pins.flat(), END_SYSEX]);
    } else if (cmd === 0x69) {
      const mapping = Array.from({ length: PIN_COUNT }, (_, i) =>
        i >= ANALOG_OFFSET ? i - ANALOG_OFFSET : 0x7f,
      );
      this.#send([START_SYSEX, 0x6a, ...mapping, END_SYSEX]);
    } else if (cmd === 0x6d) {
      const pin = data[1] as number;
      const p = this.#pins[pin] ?? { mode: INPUT, value: 0, pullup: false };
      // PIN_STATE_RESPONSE: an output's level, an input's last written value (its pull-up)
      const state = p.mode === INPUT ? Number(p.pullup) : p.value;
      this.#send([START_SYSEX, 0x6e, pin, p.mode, state & 0x7f, END_SYSEX]);
    }
    // SAMPLING_INTERVAL and others need no answer
  }
}
