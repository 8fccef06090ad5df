/**
 * The hub's link to the cabinets: subscribed to their upward topics (its sites' only, when it
 * shares a broker), publishing their downward ones. Over MQTT to an external broker
 * (`DeviceLink`), or in process to the embedded one (`LocalLink`); the hub uses either through
 * `Link`, with the same topics and payloads.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import {
  fleetFilter,
  type LockerRef,
  type Suffix,
  siteLinkTopic,
  TOPIC_PREFIX,
  topic,
  UP_SUFFIXES,
} from '../devices/index.ts';

export interface Link {
  start(): Promise<void>;
  publish(ref: LockerRef, suffix: Suffix, payload: unknown, opts?: { qos: 0 | 1; retain?: boolean }): void;
  stop(): Promise<void>;
}

/** The filters the hub subscribes to: each upward suffix, on every site or on its own. */
export const hubFilters = (sites?: string[]) =>
  (sites?.length ? sites : ['+']).flatMap((site) => UP_SUFFIXES.map((s) => fleetFilter(s, site)));

/** The embedded broker's in-process access (broker/embedded.ts). */
export class LocalLink implements Link {
  #stopping = false;

  constructor(
    private readonly broker: {
      subscribe(filter: string, onMessage: (topic: string, payload: Buffer) => void): Promise<void>;
      publish(topic: string, payload: Buffer, opts: { qos: 0 | 1; retain: boolean }): void;
    },
    private readonly onMessage: (topic: string, payload: Buffer) => void,
  ) {}

  async start(): Promise<void> {
    for (const filter of hubFilters())
      await this.broker.subscribe(filter, (t, p) => this.#stopping || this.onMessage(t, p));
  }

  publish(
    ref: LockerRef,
    suffix: Suffix,
    payload: unknown,
    opts: { qos: 0 | 1; retain?: boolean } = { qos: 1 },
  ): void {
    if (this.#stopping) return;
    this.broker.publish(topic(ref, suffix), Buffer.from(JSON.stringify(payload)), {
      qos: opts.qos,
      retain: opts.retain ?? false,
    });
  }

  async stop(): Promise<void> {
    this.#stopping = true;
  }
}

export interface LinkOptions {
  url: string;
  username: string;
  password: string;
  clientId: string;
  /** Subscribe only to these sites' topics (several hubs sharing one broker); all sites when empty. */
  sites?: string[];
  /** CA certificate(s) for an mqtts:// broker with a private authority. */
  ca?: string;
  log: Logger;
  /** `retained`: replayed by the broker at subscription (kept from before), not news. */
  onMessage: (topic: string, payload: Buffer, retained: boolean) => void;
}

export class DeviceLink implements Link {
  #client: MqttClient | undefined;
  #stopping = false;

  constructor(private readonly opts: LinkOptions) {}

  async start(): Promise<void> {
    const { opts } = this;
    const client = mqtt.connect(opts.url, {
      username: opts.username,
      password: opts.password,
      clientId: opts.clientId,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      ...(opts.ca ? { ca: opts.ca } : {}),
    });
    this.#client = client;
    client.on('message', (t, payload, packet) => opts.onMessage(t, payload, packet.retain));
    client.on('error', (err) => this.#stopping || opts.log.warn({ err }, 'broker link error'));
    client.on('offline', () => this.#stopping || opts.log.warn('broker link down, reconnecting'));
    // TCP_NODELAY on the hub's socket too (see broker/embedded.ts).
    client.on('connect', () => (client.stream as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true));
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    const filters = hubFilters(opts.sites);
    const granted = await client.subscribeAsync(filters, { qos: 1 });
    const refused = granted.filter((g) => g.qos === 128);
    if (refused.length)
      throw new Error(`broker refused the hub's subscriptions: ${refused.map((g) => g.topic).join(', ')}`);
    // Whether each site's own broker, if it has one, reaches this one (docs/operations.md §9).
    // Optional: a broker without site brokers (NATS) may refuse it.
    const lines = opts.sites?.length ? opts.sites.map(siteLinkTopic) : [`${TOPIC_PREFIX}/+/link`];
    const refusedLines = await client.subscribeAsync(lines, { qos: 1 }).then(
      (granted) => granted.some((g) => g.qos === 128),
      () => true, // mqtt.js rejects when a broker refuses every filter (NATS without site brokers)
    );
    if (refusedLines) opts.log.info("the broker refused the sites' line states: no site broker there");
    opts.log.info({ url: opts.url, filters: filters.length }, 'connected to broker');
  }

  publish(
    ref: LockerRef,
    suffix: Suffix,
    payload: unknown,
    opts: { qos: 0 | 1; retain?: boolean } = { qos: 1 },
  ): void {
    if (this.#stopping) return;
    this.#client?.publish(topic(ref, suffix), JSON.stringify(payload), {
      qos: opts.qos,
      retain: opts.retain ?? false,
    });
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#client?.endAsync();
  }
}
