/** Prometheus metrics, one registry per hub so several hubs can live in one test process. */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  const accepted = new Map<string, number>();
  // The process itself: CPU, memory, event-loop lag, garbage collection, open handles.
  collectDefaultMetrics({ register: registry });
  const m = {
    registry,
    connectRefused: new Counter({
      name: 'casier_mqtt_connect_refused_total',
      help: 'MQTT connections refused, by reason: credentials, client id, or before login (banned address, connect_rate, address_pending, pending_full)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    mqttPending: new Gauge({
      name: 'casier_mqtt_pending_connections',
      help: 'MQTT connections not logged in yet (bounded per address and in all)',
      registers: [registry],
    }),
    publishRefused: new Counter({
      name: 'casier_mqtt_publish_refused_total',
      help: 'MQTT publishes refused by the broker (client disconnected), by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    connectionsCut: new Counter({
      name: 'casier_mqtt_connections_cut_total',
      help: 'MQTT connections cut for a packet announcing more than the broker takes, or a malformed length, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    subscribeRefused: new Counter({
      name: 'casier_mqtt_subscribe_refused_total',
      help: 'MQTT subscriptions refused by the ACL',
      registers: [registry],
    }),
    ingested: new Counter({
      name: 'casier_ingest_messages_total',
      help: 'Device messages accepted by the hub, by topic suffix',
      labelNames: ['suffix'],
      registers: [registry],
      // Counted in plain numbers (`accepted`) and handed over when scraped: a labelled counter
      // builds its label key at every increment, a cost per message.
      collect() {
        for (const [suffix, n] of accepted) if (n > 0) this.inc({ suffix }, n);
        accepted.clear();
      },
    }),
    dropped: new Counter({
      name: 'casier_ingest_dropped_total',
      help: 'Device messages dropped by the hub, by topic suffix and reason',
      labelNames: ['suffix', 'reason'],
      registers: [registry],
    }),
    deviceEvents: new Counter({
      name: 'casier_device_events_total',
      help: 'Device events received, new or duplicate (re-sent before the ack arrived)',
      labelNames: ['result'],
      registers: [registry],
    }),
    sequenceGaps: new Counter({
      name: 'casier_device_sequence_gaps_total',
      help: 'Holes found in a device event sequence (events lost before they reached the hub)',
      registers: [registry],
    }),
    telemetryDroppedOnDevice: new Counter({
      name: 'casier_telemetry_dropped_on_device_total',
      help: 'Telemetry messages cabinets reported dropping from their buffer during an outage',
      registers: [registry],
    }),
    commandsSent: new Counter({
      name: 'casier_commands_sent_total',
      help: 'Command publications, re-sends included',
      labelNames: ['type'],
      registers: [registry],
    }),
    commandsExpired: new Counter({
      name: 'casier_commands_expired_total',
      help: 'Commands that expired without a result',
      registers: [registry],
    }),
    ingestSeconds: new Histogram({
      name: 'casier_ingest_commit_seconds',
      help: 'Time to validate, apply and commit one events message',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.25, 1],
      registers: [registry],
    }),
    syncSeconds: new Histogram({
      name: 'casier_store_sync_seconds',
      help: 'Time the disk took to sync the write-ahead log; an events/ack or an unlock waits for one',
      buckets: [
        0.00025, 0.0005, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.006, 0.008, 0.012, 0.016, 0.032, 0.064, 0.25,
        1,
      ],
      registers: [registry],
    }),
    lockersOnline: new Gauge({
      name: 'casier_lockers_online',
      help: 'Lockers whose controller is online',
      registers: [registry],
    }),
    /** One device message accepted (`casier_ingest_messages_total`). */
    accepted(suffix: string): void {
      accepted.set(suffix, (accepted.get(suffix) ?? 0) + 1);
    },
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
