/**
 * A controller board running the casier reference firmware, simulated on a serial line: lock
 * relays, door contacts, a keypad, temperature sensors. Speaks the real wire protocol
 * (docs/protocol.md §4) so the real bridge process runs unchanged against it.
 */
import { EventEmitter } from 'node:events';
import { CasierLink, type LinkOutput, type LockerProfile, type Message } from '../../devices/index.ts';
import { corrupt, type Line, openLine } from './serial.ts';

export interface CasierBoardOptions {
  /** A serial port's path, or the board's end of an in-memory line. */
  path: string | Line;
  profile: LockerProfile;
  baudRate?: number;
  /** How long a released latch stays open if nobody pulls the door. */
  latchMs?: number;
  /** How often the board reports its sensors (0: never on its own). */
  sensorEveryMs?: number;
  /** Probability that a byte gets one bit flipped, in each direction (a noisy line). */
  flipRate?: number;
}

interface Channel {
  closed: boolean;
  released: boolean;
  /** Goods on the item sensor behind this lock (a profile's `presence` door). */
  present: boolean;
  latch?: NodeJS.Timeout;
}

export class CasierBoardSim extends EventEmitter {
  readonly #link = new CasierLink({ retransmitMs: 120, maxAttempts: 50 });
  readonly #channels = new Map<number, Channel>();
  /** Every unlock the board executed, by lock channel, in order. */
  readonly unlocked: number[] = [];
  display = '';
  /** Bytes on the line and bits flipped by the simulated noise, both directions; bytes the board's framer threw away. */
  readonly stats = { bytes: 0, flipped: 0, droppedBytes: 0 };
  #line: Line | undefined;
  #timer: NodeJS.Timeout | undefined;
  #sensorTimer: NodeJS.Timeout | undefined;
  /** What each sensor channel reads now, °C; tests and scenarios set them. */
  readonly readings = new Map<number, number>();
  /**
   * Faults on demand. `ignoreCommands`: the firmware is wedged above its link layer; frames are
   * still acknowledged, but unlocks, displays, beeps and status requests do nothing (`ignored`).
   * `unlockDelayMs`: how long the board takes to drive a lock before it answers (a motor lock, a
   * busy firmware), by lock channel.
   */
  readonly faults = { ignoreCommands: false, unlockDelayMs: (_channel: number): number => 0 };
  readonly #delayed = new Set<NodeJS.Timeout>();

  constructor(readonly opts: CasierBoardOptions) {
    super();
    for (const c of opts.profile.compartments)
      this.#channels.set(c.lock.channel, { closed: true, released: false, present: false });
    for (const sensor of opts.profile.sensors) {
      const cls = opts.profile.compartments.find((c) => c.sensor === sensor.id)?.temperatureClass;
      this.readings.set(sensor.channel.channel, cls === 'frozen' ? -19 : cls === 'chilled' ? 3 : 18);
    }
  }

  async start(): Promise<void> {
    const rate = this.opts.flipRate ?? 0;
    this.#line = await openLine(this.opts.path, this.opts.baudRate ?? 115200, {
      flipRate: rate,
      stats: this.stats,
    });
    this.#line.onData((chunk) =>
      this.#handle(this.#link.receive(corrupt(chunk, rate, this.stats), Date.now())),
    );
    this.#timer = setInterval(() => this.#handle(this.#link.poll(Date.now())), 20);
    const p = this.opts.profile;
    if (this.opts.sensorEveryMs !== 0) {
      this.#sensorTimer = setInterval(
        () => this.temperatures([...this.readings].map(([channel, c]) => ({ channel, c }))),
        this.opts.sensorEveryMs ?? 1000,
      );
    }
    this.#send({
      type: 'hello',
      fwMajor: 1,
      fwMinor: 0,
      locks: p.compartments.length,
      inputs: p.compartments.length,
      sensors: p.sensors.length,
    });
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    clearInterval(this.#sensorTimer);
    for (const c of this.#channels.values()) clearTimeout(c.latch);
    for (const t of this.#delayed) clearTimeout(t);
    await this.#line?.close();
  }

  /** Someone types a code on the keypad and presses enter. */
  typeCode(code: string): void {
    this.#send({ type: 'keypad', code });
  }

  /** Someone pulls the door of `door` (a profile door number); it opens only if its latch is released, unless forced. */
  openDoor(door: number, opts: { force?: boolean } = {}): boolean {
    const ch = this.#channel(door);
    if (!ch.closed) return true;
    if (!ch.released && !opts.force) return false;
    ch.closed = false;
    ch.released = false;
    clearTimeout(ch.latch);
    this.#send({ type: 'contact', channel: this.#lockChannel(door), closed: false });
    return true;
  }

  closeDoor(door: number): void {
    const ch = this.#channel(door);
    if (ch.closed) return;
    ch.closed = true;
    this.#send({ type: 'contact', channel: this.#lockChannel(door), closed: true });
  }

  /**
   * Goods are put on or taken off `door`'s item sensor (a door whose profile says `presence`).
   * The firmware reports the change (PRESENCE) and every STATUS carries the sensors' bits: so
   * goods left in a door while the bridge was down are known to it from its first status.
   */
  setGoods(door: number, present: boolean, opts: { silently?: boolean } = {}): void {
    const ch = this.#channel(door);
    if (ch.present === present) return;
    ch.present = present;
    if (!opts.silently && this.#line)
      this.#send({ type: 'presence', channel: this.#lockChannel(door), present });
  }

  /** Someone scans a label on the board's scanner (`symbology`: the scanner's id for the code type). */
  scan(data: string, symbology = 0): void {
    this.#send({ type: 'scan', symbology, data });
  }

  /** The mains supply is lost or back; the board reports it, with its battery's voltage. */
  setPower(mains: boolean, batteryV = 13.2): void {
    this.#send({ type: 'power', mains, centiV: Math.round(batteryV * 100) });
  }

  /** Sets what some sensors read, and reports those at once, as the firmware does when a sample is taken. */
  sample(readings: Array<{ channel: number; c: number }>): void {
    for (const r of readings) this.readings.set(r.channel, r.c);
    this.temperatures(readings);
  }

  temperatures(readings: Array<{ channel: number; c: number }>): void {
    this.#send({
      type: 'temperatures',
      readings: readings.map((r) => ({ channel: r.channel, centi: Math.round(r.c * 100) })),
    });
  }

  #lockChannel(door: number): number {
    const c = this.opts.profile.compartments.find((x) => x.door === door);
    if (!c) throw new Error(`no door ${door}`);
    return c.lock.channel;
  }

  #channel(door: number): Channel {
    return this.#channels.get(this.#lockChannel(door)) as Channel;
  }

  #send(m: Message): void {
    this.#handle(this.#link.send(m, Date.now()));
  }

  #handle(out: LinkOutput): void {
    for (const w of out.writes) this.#line?.write(w);
    for (const d of out.dropped) this.stats.droppedBytes += d.bytes;
    for (const m of out.messages) this.#execute(m);
  }

  #execute(m: Message): void {
    if (this.faults.ignoreCommands) {
      this.emit('ignored', m);
      return;
    }
    if (m.type === 'unlock') {
      const delay = this.faults.unlockDelayMs(m.channel);
      if (delay > 0) {
        const t = setTimeout(() => {
          this.#delayed.delete(t);
          this.#unlock(m.channel);
        }, delay);
        this.#delayed.add(t);
      } else this.#unlock(m.channel);
    } else if (m.type === 'statusRequest') {
      let closed = 0;
      let present = 0;
      for (const [channel, c] of this.#channels) {
        if (c.closed) closed |= 1 << channel;
        if (c.present) present |= 1 << channel;
      }
      this.#send({ type: 'status', contactsClosed: closed, present });
    } else if (m.type === 'display') {
      this.display = m.text;
      this.emit('display', m.text);
    } else if (m.type === 'beep') {
      this.emit('beep', m.pattern);
    }
  }

  #unlock(channel: number): void {
    const ch = this.#channels.get(channel);
    if (!ch) {
      this.#send({ type: 'lockResult', channel, ok: false });
      return;
    }
    ch.released = true;
    clearTimeout(ch.latch);
    ch.latch = setTimeout(() => {
      ch.released = false;
    }, this.opts.latchMs ?? 8000);
    this.unlocked.push(channel);
    this.#send({ type: 'lockResult', channel, ok: true });
    const door = this.opts.profile.compartments.find((c) => c.lock.channel === channel)?.door;
    this.emit('unlocked', door, channel);
  }
}
