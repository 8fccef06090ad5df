/**
 * The MQTT topic tree (docs/protocol.md §1). Every topic is built and parsed here: no other
 * module writes a topic string by hand.
 */

export const TOPIC_PREFIX = 'casier/v1';

/**
 * Site and locker ids: lowercase, digits and dashes, 1..63 characters, starting alphanumeric
 * (docs/protocol.md §1). Defined here only; `ID_SOURCE` is the unanchored form for patterns built
 * from it (`<user>:<site>`), `ID_PATTERN` matches one whole id.
 */
export const ID_SOURCE = '[a-z0-9][a-z0-9-]{0,62}';
export const ID_PATTERN = new RegExp(`^${ID_SOURCE}$`);

export const isId = (s: string): boolean => ID_PATTERN.test(s);

/** Who publishes what: `up` goes from the cabinet to the hub, `down` from the hub to the cabinet. */
export const SUFFIXES = {
  state: 'up',
  telemetry: 'up',
  events: 'up',
  'commands/result': 'up',
  'events/ack': 'down',
  commands: 'down',
  codes: 'down',
} as const;

export type Suffix = keyof typeof SUFFIXES;

export const UP_SUFFIXES = (Object.keys(SUFFIXES) as Suffix[]).filter((s) => SUFFIXES[s] === 'up');

export interface LockerRef {
  site: string;
  locker: string;
}

export interface ParsedTopic extends LockerRef {
  suffix: Suffix;
}

export function topicRoot(ref: LockerRef): string {
  if (!isId(ref.site) || !isId(ref.locker)) {
    throw new Error(`invalid locker reference ${ref.site}/${ref.locker}`);
  }
  return `${TOPIC_PREFIX}/${ref.site}/${ref.locker}`;
}

export function topic(ref: LockerRef, suffix: Suffix): string {
  return `${topicRoot(ref)}/${suffix}`;
}

/**
 * Whether a site's own broker is connected to the central one: `1` or `0`, retained, published by
 * that broker (a Mosquitto bridge notification) to its site's cabinets, and at the central broker
 * to the hub (`0` as the link's last will). A cabinet behind such a broker is connected to it even
 * while the site's line is down; this says when it is.
 */
export function siteLinkTopic(site: string): string {
  if (!isId(site)) throw new Error(`invalid site ${site}`);
  return `${TOPIC_PREFIX}/${site}/link`;
}

/** The site a `siteLinkTopic` names, or null for any other topic. */
export function parseSiteLinkTopic(t: string): string | null {
  if (!t.startsWith(`${TOPIC_PREFIX}/`) || !t.endsWith('/link')) return null;
  const site = t.slice(TOPIC_PREFIX.length + 1, -'/link'.length);
  return isId(site) ? site : null;
}

/** Subscription filter matching one suffix on every locker (the hub's subscriptions). */
export function fleetFilter(suffix: Suffix, site = '+'): string {
  return `${TOPIC_PREFIX}/${site}/+/${suffix}`;
}

/**
 * Topics already parsed: a fleet publishes to a few topics per cabinet, thousands of times each.
 * Bounded (forgotten all at once when full), so a client inventing topics cannot grow it.
 */
const parsed = new Map<string, Readonly<ParsedTopic> | null>();
const PARSED_MAX = 50_000;

/**
 * Parses a concrete topic; returns null for anything outside the tree (wildcards included). The
 * result is shared between callers (frozen).
 */
export function parseTopic(t: string): Readonly<ParsedTopic> | null {
  let p = parsed.get(t);
  if (p === undefined) {
    if (parsed.size >= PARSED_MAX) parsed.clear();
    p = parseTopicOnce(t);
    parsed.set(t, p && Object.freeze(p));
  }
  return p;
}

function parseTopicOnce(t: string): ParsedTopic | null {
  if (!t.startsWith(`${TOPIC_PREFIX}/`)) return null;
  const rest = t.slice(TOPIC_PREFIX.length + 1).split('/');
  if (rest.length < 3 || rest.length > 4) return null;
  const [site, locker, ...tail] = rest as [string, string, ...string[]];
  if (!isId(site) || !isId(locker)) return null;
  const suffix = tail.join('/');
  if (!Object.hasOwn(SUFFIXES, suffix)) return null;
  return { site, locker, suffix: suffix as Suffix };
}

/** `site/locker`, the form used for device usernames and on the command line. */
export function lockerKey(ref: LockerRef): string {
  return `${ref.site}/${ref.locker}`;
}

export function parseLockerKey(s: string): LockerRef | null {
  const parts = s.split('/');
  if (parts.length !== 2) return null;
  const [site, locker] = parts as [string, string];
  return isId(site) && isId(locker) ? { site, locker } : null;
}
