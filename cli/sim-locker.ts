/**
 * A simulated cabinet made of the product's own parts: the real `Bridge` with its SQLite outbox,
 * driving a simulated casier board through the real `CasierDriver`, over an in-memory serial
 * line. The tests and the demo use it, so every flow they run goes through the bridge and the
 * driver. It lives here because it wires firmware-bridge/ and simulators/ together, which they
 * never do themselves.
 *
 * What it offers is the physical world (`LockerFront`): a keypad, doors to pull, a scanner,
 * sensors; and what an observer can see: the commands that reached the bridge, the board's display.
 * Emits `unlocked` (door), `received` (command, duplicate) for every command the bridge
 * received, `command` (command, result) once the bridge executed one, `recorded` (event) once the
 * bridge journalled one, `acked` (event ids).
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import {
  type Command,
  type CommandResult,
  type DeviceEvent,
  type LockerProfile,
  type LockerRef,
  linePair,
  type TelemetryMessage,
} from '../devices/index.ts';
import { Bridge } from '../firmware-bridge/bridge.ts';
import { CasierDriver } from '../firmware-bridge/drivers/casier.ts';
import { Outbox } from '../firmware-bridge/outbox.ts';
import { CasierBoardSim } from '../simulators/boards/casier-board.ts';
import type { LockerFront, PowerReading } from '../simulators/front.ts';

export interface SimLockerOptions extends LockerRef {
  url: string;
  password: string;
  profile: LockerProfile;
  /** The cabinet's clock (a test's virtual time); Date.now by default. */
  now?: () => number;
  /** How long an unacknowledged event waits before the bridge sends it again. */
  resendMs?: number;
  /** How long the bridge expects the hub to take to acknowledge an event (Bridge's `ackWaitMs`). */
  ackWaitMs?: number;
  /** How long the driver waits for the board to confirm an unlock. */
  replyTimeoutMs?: number;
  /** How long a released latch stays released if nobody pulls the door. */
  latchMs?: number;
  /** The bridge's store; a temporary directory, removed at stop, by default. */
  dataDir?: string;
  /** `url` is the site's own broker: the bridge follows its line to the hub (`--site-broker`). */
  siteBroker?: boolean;
  /** Telemetry messages the bridge keeps while the hub is unreachable. */
  telemetryBuffer?: number;
  /** Probability that a byte on the line gets a bit flipped, each direction (a noisy line). */
  flipRate?: number;
  log?: Logger;
}

export class SimLocker extends EventEmitter implements LockerFront {
  readonly board: CasierBoardSim;
  readonly bridge: Bridge;
  /** The bridge's durable store: its outbox, executed commands, offline code table. */
  readonly outbox: Outbox;
  /** Commands that reached the bridge, in order, re-sends included. */
  readonly received: Command[] = [];
  readonly #dataDir: string;
  readonly #ownDir: boolean;
  #stopped = false;

  constructor(readonly opts: SimLockerOptions) {
    super();
    const [boardEnd, bridgeEnd] = linePair();
    this.#ownDir = !opts.dataDir;
    this.#dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'casier-locker-'));
    this.board = new CasierBoardSim({
      path: boardEnd,
      profile: opts.profile,
      latchMs: opts.latchMs ?? 10_000,
      sensorEveryMs: 0, // readings are pushed by whoever plays the sensors (`telemetry`)
      flipRate: opts.flipRate,
    });
    this.outbox = new Outbox(join(this.#dataDir, 'bridge'), { now: opts.now });
    this.bridge = new Bridge({
      locker: { site: opts.site, locker: opts.locker },
      password: opts.password,
      mqttUrl: opts.url,
      profile: opts.profile,
      driver: new CasierDriver(bridgeEnd, opts.profile, { replyTimeoutMs: opts.replyTimeoutMs }),
      outbox: this.outbox,
      log: opts.log ?? pino({ level: process.env.CASIER_TEST_LOG ?? 'silent' }),
      fw: 'casier-bridge (simulated board)',
      resendMs: opts.resendMs,
      ackWaitMs: opts.ackWaitMs,
      reconnectMs: 100,
      telemetryBuffer: opts.telemetryBuffer,
      siteBroker: opts.siteBroker,
      now: opts.now,
      inputs: [], // no keypad or scanner on the Pi: the board has them
    });
    this.board.on('unlocked', (door: number | undefined) => {
      if (door !== undefined) this.emit('unlocked', door);
    });
    this.bridge.on('command', (cmd: Command, duplicate: boolean) => {
      this.received.push(cmd);
      this.emit('received', cmd, duplicate);
    });
    this.bridge.on('result', (cmd: Command, result: CommandResult) => this.emit('command', cmd, result));
    this.bridge.on('recorded', (ev: DeviceEvent) => this.emit('recorded', ev));
    this.bridge.on('acked', (ids: string[]) => this.emit('acked', ids));
  }

  get locker(): string {
    return this.opts.locker;
  }

  get profile(): LockerProfile {
    return this.opts.profile;
  }

  get ref(): LockerRef {
    return { site: this.opts.site, locker: this.opts.locker };
  }

  /** The bridge is connected to its broker. */
  get connected(): boolean {
    return this.bridge.connected;
  }

  /** Events the bridge holds that the hub has not acknowledged yet. */
  get unacknowledged(): number {
    return this.bridge.counters.outbox;
  }

  /** What the board's display shows. */
  get display(): string {
    return this.board.display;
  }

  /** Faults of the board (`ignoreCommands`: frames acknowledged, nothing done). */
  get faults(): { ignoreCommands: boolean } {
    return this.board.faults;
  }

  /** Powers the board, then the bridge; resolves once the bridge has announced itself to the hub. */
  async start(timeoutMs = 10_000): Promise<void> {
    await this.board.start();
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.opts.locker}: the bridge did not reach ${this.opts.url}`)),
        timeoutMs,
      );
      this.bridge.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    // Both awaited together: a bridge that fails to start must not leave `ready` to reject unheard.
    await Promise.all([this.bridge.start(), ready]);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.bridge.stop();
    await this.board.stop();
    if (this.#ownDir) rmSync(this.#dataDir, { recursive: true, force: true });
  }

  pressCode(code: string): void {
    this.board.typeCode(code);
  }

  openDoor(door: number, opts: { force?: boolean } = {}): boolean {
    return this.board.openDoor(door, opts);
  }

  closeDoor(door: number): void {
    this.board.closeDoor(door);
  }

  scan(text: string): void {
    this.board.scan(text);
  }

  /**
   * The sensors read these values (sensor ids of the profile): the board samples and reports
   * them; resolves once the bridge has sent (or, offline, buffered) the readings.
   */
  async telemetry(readings: Array<{ sensor: string; c: number }>, power?: PowerReading): Promise<void> {
    if (power) {
      const sent = this.#nextTelemetry((msg) => msg.power?.mains === power.mains);
      this.board.setPower(power.mains, power.batteryV);
      await sent;
    }
    const channels = readings.map((r) => {
      const s = this.opts.profile.sensors.find((x) => x.id === r.sensor);
      if (!s) throw new Error(`${this.opts.profile.name} has no sensor ${r.sensor}`);
      return { channel: s.channel.channel, c: r.c };
    });
    if (channels.length === 0) return;
    const reported = this.#nextTelemetry((msg) =>
      readings.every((r) => msg.readings.some((x) => x.sensor === r.sensor)),
    );
    this.board.sample(channels);
    await reported;
  }

  /** The next telemetry message the bridge sends (or buffers) that matches. */
  #nextTelemetry(match: (msg: TelemetryMessage) => boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.bridge.off('telemetry', on);
        reject(new Error(`${this.opts.locker}: the board's report never reached the bridge`));
      }, 5000);
      const on = (msg: TelemetryMessage) => {
        if (!match(msg)) return;
        clearTimeout(timer);
        this.bridge.off('telemetry', on);
        resolve();
      };
      this.bridge.on('telemetry', on);
    });
  }
}
