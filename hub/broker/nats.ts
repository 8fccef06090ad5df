/**
 * The NATS accounts that give nats-server's MQTT listener the embedded broker's guarantees
 * (policy.ts): a cabinet publishes only its own upward subjects and subscribes only to its own
 * downward ones; a hub the reverse, on its sites only. NATS names an MQTT topic `a/b/c` as the
 * subject `a.b.c`; QoS 1 deliveries reach an MQTT session through `$MQTT.sub.>`.
 */
import { SUFFIXES, type Suffix, TOPIC_PREFIX } from '../../devices/index.ts';

export type NatsAccount =
  | { kind: 'hub'; username: string; password: string; sites?: string[] }
  | { kind: 'locker'; site: string; locker: string; password: string };

const subject = (topic: string) => topic.replaceAll('/', '.');
const bySuffix = (direction: 'up' | 'down') =>
  (Object.keys(SUFFIXES) as Suffix[]).filter((s) => SUFFIXES[s] === direction);

export function natsUser(a: NatsAccount) {
  const roots =
    a.kind === 'hub'
      ? (a.sites?.length ? a.sites : ['*']).map((site) => `${subject(TOPIC_PREFIX)}.${site}.*`)
      : [`${subject(TOPIC_PREFIX)}.${a.site}.${a.locker}`];
  // A hub receives what cabinets send and sends what they receive.
  const [receives, sends] =
    a.kind === 'hub' ? [bySuffix('up'), bySuffix('down')] : [bySuffix('down'), bySuffix('up')];
  return {
    user: a.kind === 'hub' ? a.username : `${a.site}/${a.locker}`,
    password: a.password,
    allowed_connection_types: ['MQTT'],
    permissions: {
      publish: { allow: roots.flatMap((r) => sends.map((s) => `${r}.${subject(s)}`)) },
      subscribe: {
        allow: [...roots.flatMap((r) => receives.map((s) => `${r}.${subject(s)}`)), '$MQTT.sub.>'],
      },
    },
  };
}

/** The `authorization` block of a nats-server configuration (JSON is valid NATS syntax). */
export function natsAuthorization(accounts: NatsAccount[]): string {
  return `authorization {\n  users: ${JSON.stringify(accounts.map(natsUser), null, 2).replaceAll('\n', '\n  ')}\n}\n`;
}
