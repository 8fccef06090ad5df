/**
 * Driver for Firmata boards (an Arduino running StandardFirmata) through johnny-five: a Relay
 * per lock, a Switch per door contact (pull-up: a closed door reads low), a TMP36 Thermometer per
 * sensor. johnny-five and firmata-io are loaded only when this driver is chosen; the serial line
 * is ours (serialport 13), handed to firmata-io as its transport, so johnny-five's own old
 * serialport is never loaded. Firmata does not acknowledge writes: an unlock is confirmed by the
 * door contact that follows, not by the board.
 */
import { EventEmitter } from 'node:events';
import type { LockerProfile } from '../../devices/index.ts';
import type { Line } from '../line.ts';
import { type BoardDriver, DriverError, type SelftestRow } from './types.ts';

const PULSE_MS = 500;
const READY_TIMEOUT_MS = 15_000;

interface Five {
  Board: new (opts: Record<string, unknown>) => EventEmitter & { io: unknown };
  Relay: new (opts: Record<string, unknown>) => { close(): void; open(): void };
  Switch: new (opts: Record<string, unknown>) => EventEmitter & { isClosed: boolean };
  Thermometer: new (opts: Record<string, unknown>) => EventEmitter & { celsius: number };
}

/** firmata-io wants a serialport-like transport: data/open/close/error events and write(). */
class LineTransport extends EventEmitter {
  constructor(private readonly line: Line) {
    super();
    line.onData((chunk) => this.emit('data', Buffer.from(chunk)));
    line.onClose(() => this.emit('close'));
    setImmediate(() => this.emit('open'));
  }

  write(data: Buffer | number[], cb?: (err?: Error) => void): boolean {
    this.line.write(Uint8Array.from(data));
    cb?.();
    return true;
  }
}

/** The part of firmata-io's Firmata that writes digital ports. */
interface PortWriter {
  /** The value firmata-io sends for each 8-pin port. */
  ports: number[];
  writeDigitalPort(port: number): void;
}

/**
 * Keeps the pull-ups of the door contacts on through every digital write. Firmata's
 * DIGITAL_MESSAGE sets a whole 8-pin port, and firmata-io sends `ports[port]`, in which its
 * DIGITAL_MESSAGE handler puts the level last read on each input pin: once a closed door has read
 * low, the next write to that port (a relay on the same port, D2-D5 beside D6-D7) carries a 0 for
 * the contact. StandardFirmata up to 2.4.x (`digitalWriteCallback`, examples/StandardFirmata in
 * github.com/firmata/arduino up to tag v2.4.4) writes INPUT pins too, and on an input a 0 turns
 * the pull-up off: the door then floats low and never reads open again. 2.5.0 stopped turning
 * pull-ups off, and added SET_DIGITAL_PIN_VALUE (0xF5) and a PULLUP pin mode (0x0B) that avoid the
 * port write, but the 2.4 firmware our tests run (test/fixtures/firmata) ignores both. So every
 * port write carries a 1 for each contact pin, which all versions take as "pull-up on" (2.5 and
 * later: pinMode INPUT_PULLUP, already so): a relay's write leaves every other pin as it was.
 */
function keepPullups(io: PortWriter): Set<number> {
  const pins = new Set<number>();
  const write = io.writeDigitalPort.bind(io);
  io.writeDigitalPort = (port) => {
    for (const pin of pins) if (pin >> 3 === port) io.ports[port] = (io.ports[port] ?? 0) | (1 << (pin & 7));
    write(port);
  };
  return pins;
}

export class FirmataDriver extends EventEmitter implements BoardDriver {
  readonly #relays = new Map<number, { close(): void; open(): void }>();
  readonly #open = new Map<number, boolean>();
  readonly #readings = new Map<string, number>();
  #sensorTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly line: Line,
    private readonly profile: LockerProfile,
  ) {
    super();
  }

  async start(): Promise<void> {
    const five = (await import('johnny-five')).default as unknown as Five;
    const firmataIo = (await import('firmata-io')).default as unknown as {
      Firmata: new (t: unknown, opts: Record<string, unknown>) => EventEmitter;
    };
    // A board already running does not announce itself again: ask after 1 s rather than 5.
    const io = new firmataIo.Firmata(new LineTransport(this.line), { reportVersionTimeout: 1000 });
    const board = new five.Board({ io, repl: false, debug: false, timeout: READY_TIMEOUT_MS });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new DriverError('timeout', 'the Firmata board did not answer')),
        READY_TIMEOUT_MS,
      );
      board.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
      board.once('error', (err: Error) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    const pullups = keepPullups(io as unknown as PortWriter);
    for (const c of this.profile.compartments) {
      // Firmata writes only to output pins; johnny-five's Relay does not set the mode itself.
      (io as unknown as { pinMode(pin: number, mode: number): void }).pinMode(c.lock.channel, 1);
      this.#relays.set(c.door, new five.Relay({ pin: c.lock.channel, type: 'NO', board }));
      if (!c.contact) continue;
      // The Switch makes the pin an input and writes it high: its pull-up on. From then on every
      // port write keeps it on (keepPullups); not before, or a 1 would drive a pin still an output.
      const contact = new five.Switch({ pin: c.contact.channel, isPullup: true, board });
      pullups.add(c.contact.channel);
      // isPullup inverts the raw level: a closed door (pin to ground) reads as a closed switch.
      const report = (open: boolean) => {
        const before = this.#open.get(c.door);
        this.#open.set(c.door, open);
        if (before === undefined ? open : before !== open) this.emit('door', c.door, open);
        else if (before === undefined) this.emit('closedAtStart', c.door);
      };
      contact.on('open', () => report(true));
      contact.on('close', () => report(false));
    }
    for (const s of this.profile.sensors) {
      // johnny-five's TMP36 controller rounds to whole degrees (the part's ±1 °C accuracy), which
      // against a +4 °C limit with 0.5 °C of hysteresis decides alarms on rounding. The generic
      // analog one with the TMP36's own transfer function keeps the ADC's step (5 V / 1024, about
      // 0.49 °C): 10 mV/°C, 750 mV at 25 °C so 500 mV at 0 °C (Analog Devices TMP35/TMP36/TMP37
      // datasheet); ADC = Vin × 1024 / Vref (ATmega328P datasheet, "ADC conversion result").
      const t = new five.Thermometer({
        pin: `A${s.channel.channel}`,
        freq: 1000,
        board,
        toCelsius: (raw: number) => ((raw * 5000) / 1024 - 500) / 10,
      });
      t.on('data', () => this.#readings.set(s.id, Math.round(t.celsius * 100) / 100));
    }
    this.#sensorTimer = setInterval(() => {
      if (this.#readings.size)
        this.emit(
          'temperatures',
          [...this.#readings].map(([sensor, c]) => ({ sensor, c })),
        );
    }, 1000);
    this.emit('board', 'Firmata board ready');
  }

  async stop(): Promise<void> {
    clearInterval(this.#sensorTimer);
    await this.line.close();
  }

  async unlock(door: number): Promise<void> {
    const relay = this.#relays.get(door);
    if (!relay) throw new DriverError('no_such_door', `no door ${door} in profile ${this.profile.name}`);
    relay.close();
    setTimeout(() => relay.open(), PULSE_MS).unref();
    this.emit('lockReleased', door);
  }

  // A plain Firmata board has no display or buzzer of ours.
  display(): void {}
  beep(): void {}

  async selftest(): Promise<SelftestRow[]> {
    const rows: SelftestRow[] = [];
    for (const c of this.profile.compartments) {
      await this.unlock(c.door);
      rows.push({
        part: `door ${c.door} lock`,
        channel: `D${c.lock.channel}`,
        result: 'ok',
        detail: 'relay pulsed (Firmata does not confirm)',
      });
      if (c.contact) {
        const open = this.#open.get(c.door);
        rows.push({
          part: `door ${c.door} contact`,
          channel: `D${c.contact.channel}`,
          result: open === undefined ? 'no answer' : 'ok',
          detail: open === undefined ? 'no reading' : open ? 'open' : 'closed',
        });
      }
    }
    await new Promise((r) => setTimeout(r, 1500));
    for (const s of this.profile.sensors) {
      const c = this.#readings.get(s.id);
      rows.push({
        part: `sensor ${s.id}`,
        channel: `A${s.channel.channel}`,
        result: c === undefined ? 'no answer' : 'ok',
        detail: c === undefined ? 'no reading' : `${c.toFixed(2)} °C`,
      });
    }
    return rows;
  }
}
