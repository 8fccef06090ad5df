/**
 * A virtual locker controller speaking the real MQTT contract (docs/protocol.md §2): retained
 * state with a last will, events re-sent until the hub acknowledges them, commands executed at
 * most once. Tests and the demo drive it like people at the cabinet: type a code, open a door,
 * close it.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import mqtt, { type MqttClient } from 'mqtt';
import {
  type CabinetProfile,
  type Command,
  type CommandResult,
  type DeviceEvent,
  decodePayload,
  type LockerRef,
  MAX_EVENTS_PER_MESSAGE,
  parseTopic,
  topic,
} from '../devices/index.ts';

export interface VirtualLockerOptions extends LockerRef {
  url: string;
  password: string;
  profile: CabinetProfile;
  fw?: string;
  /** How long an unacknowledged event waits before it is sent again. */
  resendMs?: number;
  /** How long a released latch stays released if nobody opens the door. */
  latchMs?: number;
  /** The cabinet's clock (virtual time in tests); Date.now by default. */
  now?: () => number;
}

export interface DoorState {
  open: boolean;
  /** The latch is released: the door can be pulled open. */
  released: boolean;
}

type DistributiveOmit<T, K extends keyof never> = T extends unknown ? Omit<T, K> : never;
export type EventInput = DistributiveOmit<DeviceEvent, 'id' | 'seq' | 'ts'>;

export class VirtualLocker extends EventEmitter {
  readonly bootId = randomBytes(6).toString('hex');
  readonly doors = new Map<number, DoorState>();
  /** Events sent but not yet acknowledged, in order. */
  readonly unacked = new Map<string, DeviceEvent>();
  /** Every command id ever executed, with the result it gave: a re-sent command is answered, never re-run. */
  readonly executed = new Map<string, CommandResult>();
  /** Commands in the order they arrived, re-sends included. */
  readonly received: Command[] = [];
  display = '';
  /** Faults on demand: a board whose downlink is dead receives commands and does nothing. */
  readonly faults = { ignoreCommands: false };
  #seq = 0;
  #client: MqttClient | undefined;
  #resendTimer: NodeJS.Timeout | undefined;
  readonly #latches = new Map<number, NodeJS.Timeout>();

  readonly #now: () => number;

  constructor(readonly opts: VirtualLockerOptions) {
    super();
    this.#now = opts.now ?? Date.now;
    for (const c of opts.profile.compartments) this.doors.set(c.door, { open: false, released: false });
  }

  get ref(): LockerRef {
    return { site: this.opts.site, locker: this.opts.locker };
  }

  get connected(): boolean {
    return this.#client?.connected ?? false;
  }

  async start(): Promise<void> {
    const { opts } = this;
    const client = mqtt.connect(opts.url, {
      username: `${opts.site}/${opts.locker}`,
      password: opts.password,
      clientId: `${opts.site}/${opts.locker}`,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 500,
      will: {
        topic: topic(this.ref, 'state'),
        payload: Buffer.from(JSON.stringify({ online: false })),
        qos: 1,
        retain: true,
      },
    });
    this.#client = client;
    client.on('message', (t, payload) => this.#onMessage(t, payload));
    client.on('error', (err) => this.emit('mqtt-error', err));
    client.on('connect', () => {
      (client.stream as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true);
      void this.#announce();
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await new Promise<void>((resolve) => this.once('ready', resolve));
    this.#resendTimer = setInterval(() => this.#flush(), opts.resendMs ?? 2000);
    this.#resendTimer.unref();
  }

  /** On every (re)connection: subscribe, say we are online, send what is still unacknowledged. */
  async #announce(): Promise<void> {
    const client = this.#client;
    if (!client) return;
    try {
      await client.subscribeAsync(
        [topic(this.ref, 'commands'), topic(this.ref, 'events/ack'), topic(this.ref, 'codes')],
        { qos: 1 },
      );
      const state = {
        online: true,
        bootId: this.bootId,
        fw: this.opts.fw ?? 'sim-1.0',
        profile: this.opts.profile.name,
        ts: this.#now(),
      };
      await client.publishAsync(topic(this.ref, 'state'), JSON.stringify(state), { qos: 1, retain: true });
      this.#flush();
      this.emit('ready');
    } catch (err) {
      this.emit('mqtt-error', err);
    }
  }

  /** Records an event and sends it; it is sent again until the hub acknowledges it. */
  record(e: EventInput): DeviceEvent {
    const seq = ++this.#seq;
    const ev = { ...e, id: `${this.bootId}-${seq}`, seq, ts: this.#now() } as DeviceEvent;
    this.unacked.set(ev.id, ev);
    this.#send([ev]);
    return ev;
  }

  #telemetrySeq = 0;

  /** Publishes sensor readings (QoS 0, like a real controller), stamped with the cabinet's clock. */
  telemetry(
    readings: Array<{ sensor: string; c: number }>,
    power?: { mains: boolean; batteryV?: number },
  ): void {
    const msg = {
      bootId: this.bootId,
      seq: ++this.#telemetrySeq,
      ts: this.#now(),
      readings,
      ...(power ? { power } : {}),
    };
    this.#client?.publish(topic(this.ref, 'telemetry'), JSON.stringify(msg), { qos: 0 });
  }

  pressCode(code: string): DeviceEvent {
    return this.record({ type: 'keypad.entry', code });
  }

  /** Pulls a door open. Without `force` it only opens when its latch is released. */
  openDoor(door: number, opts: { force?: boolean } = {}): boolean {
    const d = this.#door(door);
    if (d.open) return true;
    if (!d.released && !opts.force) return false;
    d.open = true;
    d.released = false;
    clearTimeout(this.#latches.get(door));
    this.record({ type: 'door.opened', door });
    return true;
  }

  /** Reports every door's contact as it is now, as a controller does on its first read after boot. */
  reportDoors(): void {
    for (const [door, d] of this.doors) this.record({ type: d.open ? 'door.opened' : 'door.closed', door });
  }

  closeDoor(door: number): void {
    const d = this.#door(door);
    if (!d.open) return;
    d.open = false;
    this.record({ type: 'door.closed', door });
  }

  #door(door: number): DoorState {
    const d = this.doors.get(door);
    if (!d) throw new Error(`${this.opts.locker} has no door ${door}`);
    return d;
  }

  #send(events: DeviceEvent[]): void {
    if (!this.#client?.connected) return; // kept in `unacked`, sent on reconnection
    for (let i = 0; i < events.length; i += MAX_EVENTS_PER_MESSAGE) {
      const batch = events.slice(i, i + MAX_EVENTS_PER_MESSAGE);
      this.#client.publish(
        topic(this.ref, 'events'),
        JSON.stringify({ bootId: this.bootId, events: batch }),
        { qos: 1 },
      );
    }
  }

  #flush(): void {
    if (this.unacked.size) this.#send([...this.unacked.values()]);
  }

  #onMessage(t: string, payload: Buffer): void {
    const parsed = parseTopic(t);
    if (!parsed) return;
    if (parsed.suffix === 'events/ack') {
      const m = decodePayload('events/ack', payload);
      if (!m.ok) return;
      for (const id of m.value.ids) this.unacked.delete(id);
      this.emit('acked', m.value.ids);
    } else if (parsed.suffix === 'commands') {
      const m = decodePayload('commands', payload);
      if (m.ok) this.#execute(m.value);
    }
  }

  #execute(cmd: Command): void {
    this.received.push(cmd);
    if (this.faults.ignoreCommands) {
      this.emit('command-ignored', cmd);
      return;
    }
    const previous = this.executed.get(cmd.id);
    if (previous) {
      this.#reply(previous); // at most once: answer again, never act again
      return;
    }
    let result: CommandResult;
    if (this.#now() >= cmd.expiresAt) {
      result = { id: cmd.id, ok: false, error: 'expired', ts: this.#now() };
    } else if (cmd.type === 'unlock') {
      result = this.#unlock(cmd.id, cmd.door);
    } else {
      if (cmd.type === 'display') this.display = cmd.text;
      result = { id: cmd.id, ok: true, ts: this.#now() };
    }
    this.executed.set(cmd.id, result);
    this.#reply(result);
    this.emit('command', cmd, result);
  }

  #unlock(commandId: string, door: number): CommandResult {
    const d = this.doors.get(door);
    if (!d) return { id: commandId, ok: false, error: `no door ${door}`, ts: this.#now() };
    d.released = true;
    clearTimeout(this.#latches.get(door));
    const latch = setTimeout(() => {
      d.released = false;
    }, this.opts.latchMs ?? 10_000);
    latch.unref();
    this.#latches.set(door, latch);
    this.record({ type: 'lock.released', door, commandId });
    this.emit('unlocked', door, commandId);
    return { id: commandId, ok: true, ts: this.#now() };
  }

  #reply(result: CommandResult): void {
    this.#client?.publish(topic(this.ref, 'commands/result'), JSON.stringify(result), { qos: 1 });
  }

  /** Clean shutdown: says it is going offline, then disconnects. */
  async stop(): Promise<void> {
    clearInterval(this.#resendTimer);
    for (const t of this.#latches.values()) clearTimeout(t);
    const client = this.#client;
    if (!client) return;
    if (client.connected) {
      await client.publishAsync(
        topic(this.ref, 'state'),
        JSON.stringify({ online: false, ts: this.#now() }),
        {
          qos: 1,
          retain: true,
        },
      );
    }
    await client.endAsync(true);
  }
}
