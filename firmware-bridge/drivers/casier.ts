/**
 * Driver for boards running the casier reference firmware (docs/protocol.md §4): the reliable
 * link from devices/serial over a serial line, doors and sensors mapped through the profile.
 */
import { EventEmitter } from 'node:events';
import { CasierLink, type LinkOutput, type LockerProfile, type Message } from '../../devices/index.ts';
import type { Line } from '../line.ts';
import { type BoardDriver, DriverError, type SelftestRow } from './types.ts';

const UNLOCK_PULSE_MS = 500;
/** Long enough for a few retransmissions on a noisy line. */
const REPLY_TIMEOUT_MS = 5000;

export class CasierDriver extends EventEmitter implements BoardDriver {
  readonly #link = new CasierLink({ retransmitMs: 150, maxAttempts: 10 });
  readonly #doorByContact = new Map<number, number>();
  readonly #lockByDoor = new Map<number, number>();
  readonly #sensorByChannel = new Map<number, string>();
  readonly #waiting = new Map<string, Array<(m: Message) => void>>();
  /** Reply timers running: cleared at stop, so a stopped driver keeps nothing alive. */
  readonly #replyTimers = new Set<NodeJS.Timeout>();
  #contacts = new Map<number, boolean>();
  /** What each sensed door's item sensor last said, by lock channel. */
  #present = new Map<number, boolean>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly line: Line,
    private readonly profile: LockerProfile,
    private readonly opts: { replyTimeoutMs?: number } = {},
  ) {
    super();
    for (const c of profile.compartments) {
      this.#lockByDoor.set(c.door, c.lock.channel);
      this.#doorByContact.set((c.contact ?? c.lock).channel, c.door);
    }
    for (const s of profile.sensors) this.#sensorByChannel.set(s.channel.channel, s.id);
  }

  async start(): Promise<void> {
    this.line.onData((chunk) => this.#handle(this.#link.receive(chunk, Date.now())));
    this.#timer = setInterval(() => this.#handle(this.#link.poll(Date.now())), 25);
    // A board that kept running remembers the SEQ of the last frame it received and drops a new
    // frame with the same one as a retransmission: this bridge starts at SEQ 0, and so may have
    // the previous one's last frame. A first status request may be dropped so; the second, SEQ 1,
    // never is (a status request changes nothing if both are answered).
    this.#send({ type: 'statusRequest' });
    // Not awaited: a board still booting answers with a HELLO, which triggers the sync.
    void this.#syncStatus().catch(() => undefined);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    for (const t of this.#replyTimers) clearTimeout(t);
    await this.line.close();
  }

  async unlock(door: number): Promise<void> {
    const channel = this.#lockByDoor.get(door);
    if (channel === undefined)
      throw new DriverError('no_such_door', `no door ${door} in profile ${this.profile.name}`);
    const result = this.#waitFor(`lockResult:${channel}`);
    this.#send({ type: 'unlock', channel, pulseMs: UNLOCK_PULSE_MS });
    const m = await result;
    if (m.type !== 'lockResult' || !m.ok)
      throw new DriverError('refused', `board refused to release lock ${channel}`);
    this.emit('lockReleased', door);
  }

  display(text: string): void {
    this.#send({ type: 'display', text });
  }

  beep(pattern: 'ok' | 'error'): void {
    this.#send({ type: 'beep', pattern: pattern === 'ok' ? 1 : 2 });
  }

  async selftest(): Promise<SelftestRow[]> {
    const rows: SelftestRow[] = [];
    const status = await this.#syncStatus().catch((err: Error) => err);
    if (status instanceof Error) {
      // A silent board would make every lock wait for its timeout: say so once per part instead.
      const detail = 'the board does not answer: check power, wiring, serial path and speed';
      for (const c of this.profile.compartments) {
        rows.push({ part: `door ${c.door} lock`, channel: `${c.lock.channel}`, result: 'no answer', detail });
        rows.push({
          part: `door ${c.door} contact`,
          channel: `${(c.contact ?? c.lock).channel}`,
          result: 'no answer',
          detail,
        });
      }
      for (const s of this.profile.sensors)
        rows.push({ part: `sensor ${s.id}`, channel: `${s.channel.channel}`, result: 'no answer', detail });
      return rows;
    }
    for (const c of this.profile.compartments) {
      const t0 = Date.now();
      const lock = await this.unlock(c.door).then(
        () => ({ result: 'ok' as const, detail: `released in ${Date.now() - t0} ms` }),
        (err: Error) => ({
          result:
            err instanceof DriverError && err.code === 'timeout'
              ? ('no answer' as const)
              : ('failed' as const),
          detail: err.message,
        }),
      );
      rows.push({ part: `door ${c.door} lock`, channel: `${c.lock.channel}`, ...lock });
      const contact = (c.contact ?? c.lock).channel;
      rows.push({
        part: `door ${c.door} contact`,
        channel: `${contact}`,
        result: 'ok',
        detail: this.#contacts.get(contact) ? 'closed' : 'open',
      });
    }
    const temps = await this.#waitFor('temperatures', 5000).catch(() => undefined);
    for (const s of this.profile.sensors) {
      const r =
        temps?.type === 'temperatures'
          ? temps.readings.find((x) => x.channel === s.channel.channel)
          : undefined;
      rows.push({
        part: `sensor ${s.id}`,
        channel: `${s.channel.channel}`,
        result: r ? 'ok' : 'no answer',
        detail: r ? `${(r.centi / 100).toFixed(2)} °C` : 'no reading within 5 s',
      });
    }
    return rows;
  }

  async #syncStatus(): Promise<void> {
    const reply = this.#waitFor('status');
    this.#send({ type: 'statusRequest' });
    const m = await reply;
    if (m.type !== 'status') return;
    // Goods first, as the KR driver does: a door found shut on goods is judged with them known.
    for (const c of this.profile.compartments) {
      if (!c.presence) continue;
      const present = (m.present & (1 << c.lock.channel)) !== 0;
      const before = this.#present.get(c.lock.channel);
      this.#present.set(c.lock.channel, present);
      // The first status says what every sensed door holds; later ones, what changed unheard.
      if (before !== present) this.emit('presence', c.door, present);
    }
    for (const [channel, door] of this.#doorByContact) {
      const closed = (m.contactsClosed & (1 << channel)) !== 0;
      const before = this.#contacts.get(channel);
      this.#contacts.set(channel, closed);
      // The first status only reports doors found open; later ones report every change. A door
      // found closed is said apart (no event: nothing happened to it).
      if (before === undefined ? !closed : before !== closed) this.emit('door', door, !closed);
      else if (before === undefined) this.emit('closedAtStart', door);
    }
  }

  #send(m: Message): void {
    const out = this.#link.send(m, Date.now());
    this.#handle(out);
  }

  #waitFor(key: string, ms = this.opts.replyTimeoutMs ?? REPLY_TIMEOUT_MS): Promise<Message> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#replyTimers.delete(timer);
        const list = this.#waiting.get(key) ?? [];
        this.#waiting.set(
          key,
          list.filter((f) => f !== done),
        );
        reject(new DriverError('timeout', `no ${key.split(':')[0]} from the board within ${ms} ms`));
      }, ms);
      this.#replyTimers.add(timer);
      const done = (m: Message) => {
        clearTimeout(timer);
        this.#replyTimers.delete(timer);
        resolve(m);
      };
      this.#waiting.set(key, [...(this.#waiting.get(key) ?? []), done]);
    });
  }

  #handle(out: LinkOutput): void {
    for (const w of out.writes) this.line.write(w);
    const dropped = out.dropped.reduce((n, d) => n + d.bytes, 0);
    if (dropped) this.emit('lineDrops', dropped);
    for (const m of out.failed) this.emit('fault', 'link_failed', `board did not acknowledge ${m.type}`);
    for (const m of out.messages) this.#receive(m);
  }

  #resolve(key: string, m: Message): void {
    const list = this.#waiting.get(key);
    if (!list?.length) return;
    this.#waiting.delete(key);
    for (const f of list) f(m);
  }

  #receive(m: Message): void {
    switch (m.type) {
      case 'hello':
        this.emit('board', `casier firmware ${m.fwMajor}.${m.fwMinor}, ${m.locks} locks`);
        void this.#syncStatus().catch(() => undefined);
        return;
      case 'contact': {
        const door = this.#doorByContact.get(m.channel);
        const before = this.#contacts.get(m.channel);
        this.#contacts.set(m.channel, m.closed);
        if (door !== undefined && before !== m.closed) this.emit('door', door, !m.closed);
        return;
      }
      case 'keypad':
        this.emit('keypad', m.code);
        return;
      case 'scan':
        this.emit('scan', m.data, String(m.symbology));
        return;
      case 'temperatures':
        this.#resolve('temperatures', m);
        this.emit(
          'temperatures',
          m.readings.flatMap((r) => {
            const sensor = this.#sensorByChannel.get(r.channel);
            return sensor ? [{ sensor, c: r.centi / 100 }] : [];
          }),
        );
        return;
      case 'presence': {
        const door = this.profile.compartments.find((c) => c.lock.channel === m.channel)?.door;
        const before = this.#present.get(m.channel);
        this.#present.set(m.channel, m.present);
        if (door !== undefined && before !== m.present) this.emit('presence', door, m.present);
        return;
      }
      case 'lockResult':
        this.#resolve(`lockResult:${m.channel}`, m);
        return;
      case 'status':
        this.#resolve('status', m);
        return;
      case 'power':
        this.emit('power', m.mains, m.centiV / 100);
        return;
      case 'fault':
        this.emit('fault', `board_${m.code}`, m.detail);
        return;
      default:
        return;
    }
  }
}
