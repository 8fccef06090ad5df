/**
 * An Arduino Uno in avr8js: an ATmega328P at 16 MHz running a given Intel-HEX file (the real
 * StandardFirmata in test/fixtures/firmata), its USART0 at 57600 baud on a serial line, shaped
 * like the simulated boards (`start()`/`stop()`, `{ path }` a pseudo-terminal or an in-memory
 * `Line`) so `lockerRig` runs it as it runs them.
 *
 * Pins are modelled as the board sees them. A door contact is a switch to ground
 * (`setContact(pin, closed)`): the level the firmware reads on an input pin is LOW while the
 * switch is closed; HIGH while it is open and the pin's internal pull-up is on (DDR bit clear,
 * PORT bit set); and LOW while it is open with the pull-up off. That last one is a choice: a
 * floating pin reads whatever it picks up, and reading it LOW makes a missing pull-up visible the
 * way it shows on a cabinet, as a door that never opens. `edges` records every change of an output
 * pin's level and `pullupChanges` every pull-up turned on or off, so a test can tell that a relay
 * pulsed once and nothing else moved. Analog inputs are voltages (`setAnalogVolts`), read against
 * AVcc = 5 V unless the firmware selects another reference.
 *
 * Emulated time is paced to wall time: cycles run in chunks from a timer loop until the emulated
 * clock has caught up with the wall clock, a chunk at most CHUNK_MS of emulated time so the event
 * loop (the hub in the same process) stays responsive. Where the machine is too slow to keep up,
 * the emulated clock falls behind, and `timing()` says by how much.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Avr8js from 'avr8js';
import type { LockerProfile } from '../../devices/index.ts';
import { type Line, openLine } from '../../simulators/boards/serial.ts';

// avr8js loaded by Node itself (its CommonJS build), not through vitest's module runner, which
// reaches every imported binding through a getter: the instruction loop ran at half the speed
// (one emulated second took about 1.0 s of wall time instead of 0.5 s on a 2-core CI machine).
const {
  AVRADC,
  AVRIOPort,
  AVRTimer,
  AVRUSART,
  adcConfig,
  avrInstruction,
  CPU,
  portBConfig,
  portCConfig,
  portDConfig,
  timer0Config,
  timer1Config,
  timer2Config,
  usart0Config,
} = createRequire(import.meta.url)('avr8js') as typeof Avr8js;

const HZ = 16_000_000;
const CYCLES_PER_MS = HZ / 1000;
const BAUD = 57_600;
/** The most emulated time one turn of the event loop runs. */
const CHUNK_MS = 8;
const FLASH_BYTES = 32 * 1024;
const SRAM_BYTES = 2048;

export interface AvrUnoOptions {
  /** A serial port's path, or the board's end of an in-memory line. */
  path: string | Line;
  /** The Intel-HEX file to run. */
  hex: string;
  /** Door mechanics, as the Firmata simulator has them: a relay pulse pops its door open. */
  profile?: LockerProfile;
  /** How long a pulsed lock stays released (ms of wall time). */
  latchMs?: number;
}

export interface Edge {
  pin: number;
  level: 0 | 1;
  /** Emulated milliseconds since reset. */
  ms: number;
}

export interface PullupChange {
  pin: number;
  on: boolean;
  ms: number;
}

/** Arduino Uno pin numbering: D0-D7 on port D, D8-D13 on port B, A0-A5 (pins 14-19) on port C. */
function where(pin: number): { port: 'B' | 'C' | 'D'; bit: number } {
  if (pin >= 0 && pin < 8) return { port: 'D', bit: pin };
  if (pin >= 8 && pin < 14) return { port: 'B', bit: pin - 8 };
  if (pin >= 14 && pin < 20) return { port: 'C', bit: pin - 14 };
  throw new Error(`no pin ${pin} on an Uno`);
}

const PORT_PINS = { D: 0, B: 8, C: 14 } as const;
const PORT_WIDTH = { D: 8, B: 6, C: 6 } as const;

/** Program memory from Intel HEX: data (00), end (01), segment (02) and linear (04) base records. */
export function loadHex(text: string, size = FLASH_BYTES): Uint8Array {
  const flash = new Uint8Array(size).fill(0xff);
  let base = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    if (!line.startsWith(':')) throw new Error(`not an Intel HEX line: ${line.slice(0, 20)}`);
    const bytes = Buffer.from(line.slice(1), 'hex');
    const [count = 0, hi = 0, lo = 0, type = 0] = bytes;
    const sum = bytes.reduce((a, b) => (a + b) & 0xff, 0);
    if (bytes.length !== count + 5 || sum !== 0) throw new Error(`bad Intel HEX record: ${line}`);
    const data = bytes.subarray(4, 4 + count);
    if (type === 0) flash.set(data, base + ((hi << 8) | lo));
    else if (type === 1) break;
    else if (type === 2) base = ((data[0] ?? 0) << 12) | ((data[1] ?? 0) << 4);
    else if (type === 4) base = ((data[0] ?? 0) << 24) | ((data[1] ?? 0) << 16);
  }
  return flash;
}

export class AvrUno extends EventEmitter {
  readonly cpu: Avr8js.CPU;
  readonly usart: Avr8js.AVRUSART;
  readonly adc: Avr8js.AVRADC;
  readonly ports: Record<'B' | 'C' | 'D', Avr8js.AVRIOPort>;
  /** Every change of an output pin's level (a pin turned output counts from its first level). */
  readonly edges: Edge[] = [];
  /** Every input pin's pull-up turned on or off. */
  readonly pullupChanges: PullupChange[] = [];
  /** Every lock (relay pin) that went high, in order, with door mechanics. */
  readonly unlocked: number[] = [];
  /** The REPORT_VERSION the firmware last sent: the Firmata protocol version, "2.4". */
  firmataVersion: string | undefined;
  /** Switches to ground, by pin: true while closed. */
  readonly #closed = new Set<number>();
  /** Driven level of each output pin; absent while the pin is an input. */
  readonly #driven = new Map<number, 0 | 1>();
  readonly #pullups = new Set<number>();
  readonly #released = new Map<number, NodeJS.Timeout>();
  readonly #rx: number[] = [];
  #tx: number[] = [];
  #sniff: number[] = [];
  #line: Line | undefined;
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #stopped = false;
  #t0 = 0;
  #maxLagMs = 0;
  #wallRunMs = 0;

  constructor(readonly opts: AvrUnoOptions) {
    super();
    const flash = loadHex(readFileSync(opts.hex, 'utf8'));
    this.cpu = new CPU(new Uint16Array(flash.buffer), SRAM_BYTES);
    // Timer 0 for millis() and delay(); timers 1 and 2 as the Arduino core's init() sets them up.
    new AVRTimer(this.cpu, timer0Config);
    new AVRTimer(this.cpu, timer1Config);
    new AVRTimer(this.cpu, timer2Config);
    this.usart = new AVRUSART(this.cpu, usart0Config, HZ);
    this.adc = new AVRADC(this.cpu, adcConfig);
    this.adc.avcc = 5;
    this.ports = {
      B: new AVRIOPort(this.cpu, portBConfig),
      C: new AVRIOPort(this.cpu, portCConfig),
      D: new AVRIOPort(this.cpu, portDConfig),
    };
    for (const name of ['B', 'C', 'D'] as const) {
      this.ports[name].addListener(() => this.#portChanged(name));
    }
    this.usart.onByteTransmit = (b) => {
      this.#tx.push(b);
      this.#sniffVersion(b);
    };
    // The next waiting byte starts on the wire once the one before it has arrived.
    this.usart.onRxComplete = () => this.#feed();
    this.usart.onConfigurationChange = () => {
      // 57600 from 16 MHz is 58824 baud (UBRR 16 with U2X), 2.1 % off, within a UART's tolerance.
      if (this.usart.rxEnable && Math.abs(this.usart.baudRate / BAUD - 1) > 0.03) {
        this.emit('warning', `USART0 at ${this.usart.baudRate} baud, the line at ${BAUD}`);
      }
      this.#feed();
    };
    // Doors start closed; other pins have nothing on them.
    for (const c of opts.profile?.compartments ?? []) if (c.contact) this.#closed.add(c.contact.channel);
  }

  async start(): Promise<void> {
    this.#line = await openLine(this.opts.path, BAUD);
    this.#line.onData((chunk) => {
      for (const b of chunk) this.#rx.push(b);
      this.#feed();
    });
    this.#t0 = performance.now();
    this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearImmediate(this.#immediate);
    for (const t of this.#released.values()) clearTimeout(t);
    await this.#line?.close();
  }

  /** Emulated milliseconds since reset. */
  get ms(): number {
    return this.cpu.cycles / CYCLES_PER_MS;
  }

  /**
   * How emulated time keeps up: wall and emulated ms since start, how far the emulated clock is
   * behind now and at most, and the share of wall time spent emulating.
   */
  timing(): { wallMs: number; emulatedMs: number; lagMs: number; maxLagMs: number; busy: number } {
    const wallMs = performance.now() - this.#t0;
    return {
      wallMs,
      emulatedMs: this.ms,
      lagMs: wallMs - this.ms,
      maxLagMs: this.#maxLagMs,
      busy: this.#wallRunMs / wallMs,
    };
  }

  /** A switch to ground on `pin`: a door contact, closed while its door is. */
  setContact(pin: number, closed: boolean): void {
    const { port } = where(pin);
    if (closed) this.#closed.add(pin);
    else this.#closed.delete(pin);
    this.#refresh(port);
  }

  /** Whether `pin`'s internal pull-up is on: an input (DDR bit clear) with its PORT bit set. */
  pullup(pin: number): boolean {
    return this.#pullups.has(pin);
  }

  /** The level an output pin drives, or undefined while it is an input. */
  output(pin: number): 0 | 1 | undefined {
    where(pin);
    return this.#driven.get(pin);
  }

  /** The level the firmware reads on `pin` (PIN register). */
  level(pin: number): 0 | 1 {
    const { port, bit } = where(pin);
    return ((this.cpu.data[this.ports[port].portConfig.PIN] ?? 0) >> bit) & 1 ? 1 : 0;
  }

  /** The voltage on analog input `channel` (A0 = 0). */
  setAnalogVolts(channel: number, volts: number): void {
    this.adc.channelValues[channel] = volts;
  }

  /** The ADC's reference in volts as the firmware has selected it (ADMUX): AVcc is 5 V. */
  get adcReference(): number {
    return this.adc.referenceVoltage;
  }

  /** Pulls a door open: only while its lock is released, unless forced. */
  openDoor(door: number, opts: { force?: boolean } = {}): boolean {
    const c = this.#door(door);
    if (!this.#released.has(c.lock.channel) && !opts.force) return false;
    this.setContact(c.contact?.channel as number, false);
    return true;
  }

  closeDoor(door: number): void {
    this.setContact(this.#door(door).contact?.channel as number, true);
  }

  #door(door: number) {
    const c = this.opts.profile?.compartments.find((x) => x.door === door);
    if (!c?.contact) throw new Error(`no door ${door} with a contact`);
    return c;
  }

  /** Runs cycles until the emulated clock catches up with the wall clock, a chunk at a time. */
  #run = (): void => {
    if (this.#stopped) return;
    const started = performance.now();
    const due = (started - this.#t0) * CYCLES_PER_MS;
    const until = Math.min(due, this.cpu.cycles + CHUNK_MS * CYCLES_PER_MS);
    const cpu = this.cpu;
    while (cpu.cycles < until) {
      avrInstruction(cpu);
      cpu.tick();
    }
    this.#flush();
    const now = performance.now();
    this.#wallRunMs += now - started;
    const lag = now - this.#t0 - this.ms;
    if (lag > this.#maxLagMs) this.#maxLagMs = lag;
    // Behind: run again once what waits on the event loop has run; caught up: wait for the clock.
    if (cpu.cycles < (now - this.#t0) * CYCLES_PER_MS) this.#immediate = setImmediate(this.#run);
    else this.#timer = setTimeout(this.#run, 1);
  };

  /** What the firmware sent during the last chunk, onto the line in one write. */
  #flush(): void {
    if (!this.#tx.length) return;
    const out = Uint8Array.from(this.#tx);
    this.#tx = [];
    this.#line?.write(out);
  }

  /** Starts the next waiting byte on the wire into USART0, when the receiver is enabled and free. */
  #feed(): void {
    if (!this.#rx.length || this.usart.rxBusy || !this.usart.rxEnable) return;
    if (this.usart.writeByte(this.#rx[0] as number)) this.#rx.shift();
  }

  /** REPORT_VERSION (0xF9, major, minor) in what the firmware sends. */
  #sniffVersion(b: number): void {
    if (b === 0xf9) this.#sniff = [b];
    else if (this.#sniff.length && !(b & 0x80)) {
      this.#sniff.push(b);
      if (this.#sniff.length === 3) {
        this.firmataVersion = `${this.#sniff[1]}.${this.#sniff[2]}`;
        this.#sniff = [];
      }
    } else this.#sniff = [];
  }

  /** DDR or PORT of `name` written: record what moved, then what each input pin now reads. */
  #portChanged(name: 'B' | 'C' | 'D'): void {
    const { DDR, PORT } = this.ports[name].portConfig;
    const ddr = this.cpu.data[DDR] ?? 0;
    const out = this.cpu.data[PORT] ?? 0;
    for (let bit = 0; bit < PORT_WIDTH[name]; bit++) {
      const pin = PORT_PINS[name] + bit;
      const mask = 1 << bit;
      if (ddr & mask) {
        const level = out & mask ? 1 : 0;
        if (this.#pullups.delete(pin)) this.pullupChanges.push({ pin, on: false, ms: this.ms });
        if (this.#driven.get(pin) !== level) {
          this.#driven.set(pin, level);
          this.edges.push({ pin, level, ms: this.ms });
          if (level) this.#relay(pin);
        }
      } else {
        this.#driven.delete(pin);
        const on = (out & mask) !== 0;
        if (on !== this.#pullups.has(pin)) {
          if (on) this.#pullups.add(pin);
          else this.#pullups.delete(pin);
          this.pullupChanges.push({ pin, on, ms: this.ms });
        }
      }
    }
    this.#refresh(name);
  }

  /** The levels of `name`'s input pins, as the switches and pull-ups make them. */
  #refresh(name: 'B' | 'C' | 'D'): void {
    const port = this.ports[name];
    for (let bit = 0; bit < PORT_WIDTH[name]; bit++) {
      const pin = PORT_PINS[name] + bit;
      // Closed switch: LOW. Open: HIGH through the pull-up, LOW floating (see the header).
      port.setPin(bit, !this.#closed.has(pin) && this.#pullups.has(pin));
    }
  }

  /** A lock's relay pin going high releases that lock for a while. */
  #relay(pin: number): void {
    const c = this.opts.profile?.compartments.find((x) => x.lock.channel === pin);
    if (!c) return;
    this.unlocked.push(pin);
    clearTimeout(this.#released.get(pin));
    this.#released.set(
      pin,
      setTimeout(() => this.#released.delete(pin), this.opts.latchMs ?? 8000),
    );
    // Emitted from inside the emulation: listeners run after the chunk, not in the middle of it.
    setImmediate(() => this.emit('unlocked', c.door, pin));
  }
}
