/**
 * The bridge on the Pi: what the board reports becomes device events, written to the durable
 * outbox first, then sent to the hub in order and re-sent until acknowledged; the hub's
 * commands are executed at most once, even across restarts (docs/protocol.md §2).
 *
 * Emits what it does, for whoever composes it (the CLI's counters, the simulated cabinet of the
 * tests and the demo): `ready` once announced to the hub, `command` (command, duplicate) for each
 * command received, `result` (command, result) once one is executed, `recorded` (event) once
 * journalled, `acked` (ids), `siteLine` (up) behind a site broker, `telemetry`
 * (message, sent: false while it is buffered).
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import {
  type CodeTableEntry,
  type Command,
  type CommandResult,
  checkOffline,
  type DeviceEvent,
  decodePayload,
  type InputSpec,
  KeypadThrottle,
  type LockerProfile,
  type LockerRef,
  MAX_EVENTS_PER_MESSAGE,
  type MessageKey,
  OFFLINE_BRAKE,
  OFFLINE_FORMAT,
  type OfflineCheck,
  offlineHash,
  offlineKey,
  parseTopic,
  say,
  siteLinkTopic,
  type TelemetryMessage,
  topic,
} from '../devices/index.ts';
import type { BoardDriver } from './drivers/types.ts';
import { PiInput, splitSymbology } from './inputs.ts';
import type { GpioBuzzer } from './kiosk/buzzer.ts';
import type { Kiosk } from './kiosk/kiosk.ts';
import type { Outbox } from './outbox.ts';

type DistributiveOmit<T, K extends keyof never> = T extends unknown ? Omit<T, K> : never;
type EventInput = DistributiveOmit<DeviceEvent, 'id' | 'seq' | 'ts'>;

export interface BridgeOptions {
  locker: LockerRef;
  password: string;
  mqttUrl: string;
  profile: LockerProfile;
  driver: BoardDriver;
  outbox: Outbox;
  log: Logger;
  fw?: string;
  /** How long an unacknowledged event waits before it is sent again. */
  resendMs?: number;
  /**
   * How long the hub takes to acknowledge an event, at most, when it is there (it acknowledges
   * once its commit is on disk): an event older than this still unacknowledged goes again before
   * any newer one, so nothing overtakes it (a broker that acknowledged it while the hub was away
   * delivered it to nobody). Default 1 s, at most `resendMs`.
   */
  ackWaitMs?: number;
  /** First delay before reconnecting to the hub; it doubles up to `reconnectMaxMs`, with jitter. */
  reconnectMs?: number;
  /**
   * The longest wait between two attempts (default 5 s): a hub back from a restart is found within
   * it, and with it the code table for the codes created since (docs/protocol.md §3.2).
   */
  reconnectMaxMs?: number;
  /** The cabinet's clock, stamped on events and readings and checked against command expiry. */
  now?: () => number;
  /** Telemetry messages kept while the hub is unreachable (the oldest go first). */
  telemetryBuffer?: number;
  /** Keypads and scanners on the Pi itself (from the profile, or overridden). */
  inputs?: InputSpec[];
  /**
   * `mqttUrl` is the site's own broker, which forwards to the central one: the cabinet follows
   * whether that line is up (`siteLinkTopic`) and uses its offline codes while it is down.
   */
  siteBroker?: boolean;
  /**
   * A screen and keypad page for the Pi's own touchscreen, where the lock board has neither
   * (firmware-bridge/kiosk): what the hub says is shown there too, and codes typed on it count as
   * the keypad's.
   */
  kiosk?: Kiosk;
  /** A buzzer on the Pi's GPIO, where the lock board has none. */
  buzzer?: GpioBuzzer;
}

/** How long a stopping bridge waits for the hub to take its `offline` state. */
const GOODBYE_MS = 300;

export class Bridge extends EventEmitter {
  /** New at every start: with `seq`, it lets the hub see reboots and gaps. */
  readonly bootId = randomBytes(6).toString('hex');
  #seq = 0;
  #telemetrySeq = 0;
  #client: MqttClient | undefined;
  #flushTimer: NodeJS.Timeout | undefined;
  #pruneTimer: NodeJS.Timeout | undefined;
  readonly #sentAt = new Map<string, number>();
  readonly #offlineKey: Buffer;
  /** Offline checks one at a time: each reads the brake the previous one left (a slow hash apart). */
  #offlineQueue: Promise<void> = Promise.resolve();
  readonly #throttle: KeypadThrottle;
  readonly #inputs: PiInput[] = [];
  readonly #counters = { lineDrops: 0, events: 0, commands: 0, duplicateCommands: 0 };
  /** Whether the site's broker reaches the central one (always, without a site broker). */
  #lineUp = true;
  /** Commands being executed now: a copy arriving meanwhile is answered when the first finishes. */
  readonly #executing = new Set<string>();
  readonly #now: () => number;

  constructor(private readonly opts: BridgeOptions) {
    super();
    this.#offlineKey = offlineKey(opts.password);
    this.#now = opts.now ?? Date.now;
    // Offline, this cabinet decides alone: the offline policy, kept in the outbox across restarts.
    this.#throttle = new KeypadThrottle(OFFLINE_BRAKE, opts.outbox.brakes);
  }

  get counters() {
    return { ...this.#counters, outbox: this.opts.outbox.size };
  }

  /** Connected to the hub (or the site's broker). */
  get connected(): boolean {
    return this.#client?.connected ?? false;
  }

  async start(): Promise<void> {
    const { driver, log } = this.opts;
    driver.on('door', (door: number, open: boolean) => {
      this.#closedAtStart.delete(door);
      this.record({ type: open ? 'door.opened' : 'door.closed', door });
    });
    driver.on('closedAtStart', (door: number) => {
      this.#closedAtStart.add(door);
      // Learnt after the hub was told the cabinet is online: told again, once for the lot.
      if (this.#client?.connected && !this.#reannounce)
        this.#reannounce = setImmediate(() => {
          this.#reannounce = undefined;
          if (this.#client?.connected) void this.#publishState(this.#client).catch(() => {});
        });
    });
    driver.on('presence', (door: number, present: boolean) =>
      this.record({ type: 'presence.changed', door, present }),
    );
    driver.on('keypad', (code: string) => this.#keypad(code));
    driver.on('scan', (data: string, symbology: string) => this.record({ type: 'scan', data, symbology }));
    driver.on('fault', (code: string, detail: string) => this.record({ type: 'board.fault', code, detail }));
    driver.on('temperatures', (readings: Array<{ sensor: string; c: number }>) => this.#telemetry(readings));
    // Power travels with telemetry (docs/protocol.md §2): a change is sent at once, readings or not.
    driver.on('power', (mains: boolean, batteryV: number) => this.#telemetry([], { mains, batteryV }));
    driver.on('lineDrops', (n: number) => {
      this.#counters.lineDrops += n;
    });
    driver.on('board', (detail: string) => log.info({ detail }, 'board connected'));
    // The board first: the hub sees the cabinet online only once it can act on a command.
    await driver.start();
    if (this.opts.kiosk) {
      this.opts.kiosk.speak(this.opts.outbox.codeTable()?.language ?? 'en');
      this.opts.kiosk.on('code', (code: string) => this.#keypad(code));
      await this.opts.kiosk.start();
      log.info({ port: this.opts.kiosk.port }, 'kiosk screen served');
    }
    for (const spec of this.opts.inputs ?? this.opts.profile.inputs) {
      const input = new PiInput(spec);
      input.on('line', (kind: string, text: string) => {
        if (kind === 'keypad') this.#keypad(text);
        else if (text.length <= 256) this.record({ type: 'scan', ...splitSymbology(text) });
      });
      input.on('missing', (kind: string, path: string, reason: string) =>
        log.warn({ kind, path, reason }, 'input device unavailable, retrying'),
      );
      input.start();
      this.#inputs.push(input);
    }
    this.#connect();
    this.#flushTimer = setInterval(() => this.#flush(), Math.min(500, this.opts.resendMs ?? 3000));
    // Executed command ids and codes used offline are kept a month: longer than any command or
    // code can live (pickup windows are capped at 30 days), so forgetting them reopens nothing.
    this.#pruneTimer = setInterval(() => this.opts.outbox.prune(31 * 86_400_000), 3_600_000);
    this.#pruneTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#flushTimer);
    clearInterval(this.#pruneTimer);
    const client = this.#client;
    if (client?.connected) {
      // Said if the line carries it within a moment; otherwise the last will says it. A line that
      // went silent with its connection up would never acknowledge it, and the bridge must stop.
      const goodbye = client
        .publishAsync(topic(this.opts.locker, 'state'), JSON.stringify({ online: false, ts: this.#now() }), {
          qos: 1,
          retain: true,
        })
        .catch(() => {});
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([goodbye, new Promise<void>((r) => (timer = setTimeout(r, GOODBYE_MS)))]);
      clearTimeout(timer);
    }
    // Forced: what is still in flight is in the outbox, and goes again at the next start.
    await client?.endAsync(true);
    await Promise.all(this.#inputs.map((i) => i.stop()));
    await this.opts.kiosk?.stop();
    await this.opts.driver.stop();
    this.opts.outbox.close();
  }

  /** Writes an event to the outbox (durably), then sends it if the hub is reachable. */
  record(e: EventInput): DeviceEvent {
    const seq = ++this.#seq;
    const ev = { ...e, id: `${this.bootId}-${seq}`, seq, ts: this.#now() } as DeviceEvent;
    this.opts.outbox.add(this.bootId, ev);
    this.#counters.events++;
    this.emit('recorded', ev);
    this.#flush();
    return ev;
  }

  #connect(): void {
    const { locker, password, mqttUrl, log } = this.opts;
    const client = mqtt.connect(mqttUrl, {
      username: `${locker.site}/${locker.locker}`,
      password,
      clientId: `${locker.site}/${locker.locker}`,
      protocolVersion: 4,
      clean: true,
      // Reconnect with backoff and jitter, so a hub coming back is not hit by every cabinet at once.
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      will: {
        topic: topic(locker, 'state'),
        payload: Buffer.from(JSON.stringify({ online: false })),
        qos: 1,
        retain: true,
      },
    });
    this.#client = client;
    let attempt = 0;
    const retry = () => {
      attempt++;
      const delay = reconnectDelay(attempt, this.opts.reconnectMs ?? 500, this.opts.reconnectMaxMs ?? 5000);
      setTimeout(() => client.reconnect(), delay).unref();
    };
    client.on('close', () => {
      this.#lineUp = true; // known again from the site broker's retained state on the next connection
      this.#sentAt.clear(); // everything unacknowledged goes again, oldest first, on the next connection
      if (!client.disconnecting) retry();
    });
    client.on('error', (err) => log.warn({ err }, 'hub link error'));
    client.on('message', (t, p) => this.#message(t, p));
    client.on('connect', () => {
      attempt = 0;
      (client.stream as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true);
      void this.#announce(client);
    });
  }

  /**
   * Doors the board found closed when the bridge started and that have not moved since: the hub
   * knows them closed (a forced one is then an alarm) without an event for each.
   */
  readonly #closedAtStart = new Set<number>();
  #reannounce: NodeJS.Immediate | undefined;

  /** The cabinet's `state`: online, its boot, profile, clock, table format, and the doors known closed. */
  async #publishState(client: MqttClient): Promise<void> {
    const state = {
      online: true,
      bootId: this.bootId,
      fw: this.opts.fw ?? 'casier-bridge 0.1.0',
      profile: this.opts.profile.name,
      ts: this.#now(),
      codes: OFFLINE_FORMAT,
      ...(this.#closedAtStart.size
        ? { doors: { closed: [...this.#closedAtStart].sort((a, b) => a - b) } }
        : {}),
    };
    await client.publishAsync(topic(this.opts.locker, 'state'), JSON.stringify(state), {
      qos: 1,
      retain: true,
    });
  }

  async #announce(client: MqttClient): Promise<void> {
    const { locker, log } = this.opts;
    try {
      await client.subscribeAsync(
        [
          topic(locker, 'commands'),
          topic(locker, 'events/ack'),
          topic(locker, 'codes'),
          ...(this.opts.siteBroker ? [siteLinkTopic(locker.site)] : []),
        ],
        { qos: 1 },
      );
      await this.#publishState(client);
      log.info(
        { outbox: this.opts.outbox.size, telemetry: this.opts.outbox.telemetryBuffered },
        'connected to the hub',
      );
      this.#flush();
      void this.#drainTelemetry(client);
      this.emit('ready');
    } catch (err) {
      log.warn({ err }, 'announcing to the hub failed');
    }
  }

  /** Sends the oldest events not sent recently, in order, grouped by boot. */
  #flush(): void {
    const client = this.#client;
    if (!client?.connected) return;
    // Real time, not the cabinet's clock: re-sending is about the link, and a test's virtual
    // clock standing still must not stop it.
    const now = Date.now();
    const resendMs = this.opts.resendMs ?? 3000;
    const ackWaitMs = Math.min(this.opts.ackWaitMs ?? 1000, resendMs);
    const rows = this.opts.outbox.oldest(MAX_EVENTS_PER_MESSAGE * 5);
    const waited = (r: { id: string }) => now - (this.#sentAt.get(r.id) ?? Number.NEGATIVE_INFINITY);
    // Something is due: never sent, or unacknowledged past its re-send delay.
    let from = rows.findIndex((r) => waited(r) >= resendMs);
    if (from < 0) return;
    // Oldest first, and nothing newer overtakes an older event still unacknowledged past the
    // time the hub takes to answer: from the first such event, all of them go again, in order.
    const late = rows.findIndex((r) => waited(r) >= ackWaitMs);
    if (late >= 0 && late < from) from = late;
    const due = rows.slice(from);
    for (let i = 0; i < due.length; ) {
      const bootId = due[i]?.bootId as string;
      const batch = [];
      while (i < due.length && due[i]?.bootId === bootId && batch.length < MAX_EVENTS_PER_MESSAGE)
        batch.push(due[i++] as (typeof due)[number]);
      for (const r of batch) this.#sentAt.set(r.id, now);
      client.publish(
        topic(this.opts.locker, 'events'),
        JSON.stringify({ bootId, events: batch.map((r) => r.event) }),
        { qos: 1 },
      );
      this.emit(
        'sent',
        batch.map((r) => r.event),
      );
    }
  }

  /** A code typed on the board's keypad or on one plugged into the Pi. */
  #keypad(code: string): void {
    if (!/^[0-9]{4,16}$/.test(code))
      this.opts.log.warn({ length: code.length }, 'keypad entry ignored: 4 to 16 digits expected');
    else if (this.#client?.connected && this.#lineUp) this.record({ type: 'keypad.entry', code });
    else void this.#offlineCode(code);
  }

  /**
   * The hub is unreachable: check the code against the retained table (docs/protocol.md §3.2).
   * The decision is journalled before the door is released; the hub reconciles when it is back.
   * Decisions are taken one after the other (`#offlineQueue`): a code typed during the slow hash of
   * another waits for its verdict, so a burst of guesses cannot all pass the brake before one
   * failure counts. The door is released outside the queue.
   */
  async #offlineCode(code: string): Promise<void> {
    const { outbox, driver, log } = this.opts;
    const turn = this.#offlineQueue.then(() => this.#decideOffline(code));
    this.#offlineQueue = turn.then(
      () => undefined,
      () => undefined,
    );
    const entry = await turn.catch((err: unknown) => {
      log.error({ err }, 'offline code check failed');
      this.#say('keypad.invalid', {}, 'error');
    });
    if (!entry) return;
    const door = entry.doors[0] as number;
    try {
      await driver.unlock(door);
      this.#say('keypad.door_open', { door }, 'ok');
    } catch (err) {
      // The door did not open: the code may be typed again.
      outbox.forgetUsedOffline(entry.h);
      log.warn({ door, err }, 'offline unlock failed');
      this.record({
        type: 'board.fault',
        code: 'offline_unlock_failed',
        detail: `door ${door}: ${(err as Error).message}`.slice(0, 256),
      });
    }
  }

  /** Journals the verdict on a typed code; the entry it opens, if any. */
  async #decideOffline(code: string): Promise<CodeTableEntry | undefined> {
    const check = await this.#checkOffline(code);
    const now = this.#now();
    if (!check.ok) {
      this.#throttle.fail('offline', now);
      this.record({ type: 'offline.refused', reason: check.reason });
      this.#say(check.reason === 'expired' ? 'keypad.expired' : 'keypad.invalid', {}, 'error');
      return undefined;
    }
    this.#throttle.succeed('offline', now);
    this.opts.outbox.markUsedOffline(check.entry.h);
    const door = check.entry.doors[0] as number;
    this.record({ type: 'offline.unlock', door, h: check.entry.h, kind: check.entry.kind });
    return check.entry;
  }

  /** The brake first: a locked keypad spends no slow hash. One scrypt per typed code, whatever the table. */
  async #checkOffline(code: string): Promise<OfflineCheck | { ok: false; reason: 'throttled' | 'no_table' }> {
    const { outbox, locker } = this.opts;
    if (this.#throttle.blockedFor('offline', this.#now()) > 0) return { ok: false, reason: 'throttled' };
    const table = outbox.codeTable();
    if (!table) return { ok: false, reason: 'no_table' };
    const h = await offlineHash(this.#offlineKey, locker.locker, code, table.cost);
    return checkOffline(table, h, this.#now(), outbox.usedOffline());
  }

  #telemetry(readings: Array<{ sensor: string; c: number }>, power?: TelemetryMessage['power']): void {
    if (readings.length === 0 && !power) return;
    const msg: TelemetryMessage = {
      bootId: this.bootId,
      seq: ++this.#telemetrySeq,
      ts: this.#now(),
      readings,
      ...(power ? { power } : {}),
    };
    const { outbox } = this.opts;
    if (this.#client?.connected && outbox.telemetryBuffered === 0 && !this.#drainingTelemetry) {
      this.#client.publish(topic(this.opts.locker, 'telemetry'), JSON.stringify(msg), { qos: 0 });
      this.emit('telemetry', msg, true);
    } else {
      outbox.addTelemetry(msg, this.opts.telemetryBuffer ?? 10_000);
      this.emit('telemetry', msg, false);
    }
  }

  #drainingTelemetry = false;

  /** After an outage: the buffered readings go first, in order, at QoS 1, then live ones resume. */
  async #drainTelemetry(client: MqttClient): Promise<void> {
    if (this.#drainingTelemetry) return;
    this.#drainingTelemetry = true;
    try {
      for (;;) {
        const batch = this.opts.outbox.telemetryBacklog(50);
        if (batch.length === 0 || !client.connected) break;
        for (const { msg } of batch)
          await client.publishAsync(topic(this.opts.locker, 'telemetry'), JSON.stringify(msg), { qos: 1 });
        this.opts.outbox.telemetrySent(
          batch.map((b) => b.n),
          batch[0]?.msg.dropped !== undefined,
        );
      }
    } catch (err) {
      this.opts.log.warn({ err }, 'sending buffered telemetry failed');
    } finally {
      this.#drainingTelemetry = false;
    }
  }

  #message(t: string, payload: Buffer): void {
    if (this.opts.siteBroker && t === siteLinkTopic(this.opts.locker.site)) {
      const up = payload.toString() !== '0';
      if (up && !this.#lineUp) this.opts.log.info('the site broker reaches the hub again');
      if (!up && this.#lineUp) this.opts.log.warn('the site broker lost its line to the hub: offline codes');
      if (up !== this.#lineUp) this.emit('siteLine', up);
      this.#lineUp = up;
      return;
    }
    const parsed = parseTopic(t);
    if (parsed?.suffix === 'events/ack') {
      const m = decodePayload('events/ack', payload);
      if (!m.ok) return;
      this.opts.outbox.ack(m.value.ids);
      for (const id of m.value.ids) this.#sentAt.delete(id);
      this.emit('acked', m.value.ids);
    } else if (parsed?.suffix === 'codes') {
      const m = decodePayload('codes', payload);
      // A table of another format (an older hub's HMACs) would refuse every code: say why, keep none.
      if (!m.ok)
        this.opts.log.error(
          { reason: m.reason, detail: m.detail },
          'code table refused: offline codes need a table of format 2 (is the hub older than this bridge?)',
        );
      else if (this.opts.outbox.saveCodeTable(m.value)) {
        this.opts.log.debug({ version: m.value.version, entries: m.value.entries.length }, 'code table');
        this.opts.kiosk?.speak(m.value.language ?? 'en');
      }
    } else if (parsed?.suffix === 'commands') {
      const m = decodePayload('commands', payload);
      if (m.ok) void this.#execute(m.value);
      else this.opts.log.warn({ reason: m.reason, detail: m.detail }, 'command dropped');
    }
  }

  async #execute(cmd: Command): Promise<void> {
    const { outbox, driver, log } = this.opts;
    const duplicate = this.#executing.has(cmd.id) || !outbox.begin(cmd.id);
    this.emit('command', cmd, duplicate);
    if (duplicate) {
      this.#counters.duplicateCommands++;
      // Still running here: the hub re-sent it before our answer reached it. The answer is coming;
      // calling it interrupted would report a failure for a door that is opening.
      if (this.#executing.has(cmd.id)) return;
      const previous = outbox.previous(cmd.id);
      if (previous?.error?.startsWith('interrupted')) outbox.finish(previous);
      if (previous) this.#reply(previous);
      return;
    }
    this.#counters.commands++;
    this.#executing.add(cmd.id);
    let result: CommandResult;
    try {
      if (this.#now() >= cmd.expiresAt) throw new Error('expired');
      switch (cmd.type) {
        case 'unlock':
          await driver.unlock(cmd.door);
          this.record({ type: 'lock.released', door: cmd.door, commandId: cmd.id });
          break;
        case 'display':
          this.#display(cmd.text, cmd.beep);
          break;
        case 'beep':
          this.#beep(cmd.pattern);
          break;
        case 'codes.sync':
          break; // the retained code table arrives on its own topic
        case 'reboot':
          throw new Error('reboot is not supported by this bridge');
      }
      result = { id: cmd.id, ok: true, ts: this.#now() };
    } catch (err) {
      result = { id: cmd.id, ok: false, error: (err as Error).message.slice(0, 256), ts: this.#now() };
      log.warn({ command: cmd.id, type: cmd.type, err }, 'command failed');
    }
    this.#executing.delete(cmd.id);
    outbox.finish(result);
    this.#reply(result);
    this.emit('result', cmd, result);
  }

  /** Shows a text to the person at the cabinet, on the board's display and the kiosk screen. */
  /** Offline, the keypad speaks the language of the hub's last table (its site's), else English. */
  #say(key: MessageKey, values: Record<string, number | string>, beep: 'ok' | 'error'): void {
    this.#display(say(this.opts.outbox.codeTable()?.language ?? 'en', key, values), beep);
  }

  #display(text: string, beep?: 'ok' | 'error'): void {
    this.opts.driver.display(text);
    this.opts.kiosk?.display(text);
    if (beep) this.#beep(beep);
  }

  #beep(pattern: 'ok' | 'error'): void {
    this.opts.driver.beep(pattern);
    this.opts.kiosk?.beep(pattern);
    void this.opts.buzzer?.beep(pattern);
  }

  #reply(result: CommandResult): void {
    this.#client?.publish(topic(this.opts.locker, 'commands/result'), JSON.stringify(result), { qos: 1 });
  }
}

/**
 * The wait before reconnection attempt `attempt` (1, 2, …): doubling from `baseMs` up to `maxMs`,
 * each drawn between half and all of it, so cabinets that lost a hub together do not all come
 * back in the same instant.
 */
export function reconnectDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random = Math.random(),
): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 20)) * (0.5 + random / 2);
}
