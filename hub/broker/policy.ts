/**
 * Who may publish and subscribe to what on the broker (docs/protocol.md §1.2). Pure functions,
 * tested as truth tables; the aedes hooks and the Mosquitto ACL example only adapt them.
 * Fail closed: anything not explicitly allowed is refused.
 */
import {
  isId,
  parseLockerKey,
  parseTopic,
  SUFFIXES,
  type Suffix,
  TOPIC_PREFIX,
} from '../../devices/index.ts';

export type Principal = { kind: 'device'; site: string; locker: string } | { kind: 'hub' };

export const HUB_USERNAME = 'casier-hub';

/** Maps a CONNECT username to the principal it claims; null for anything we do not recognise. */
export function principalFor(username: string | undefined): Principal | null {
  if (!username) return null;
  if (username === HUB_USERNAME) return { kind: 'hub' };
  const ref = parseLockerKey(username);
  return ref ? { kind: 'device', ...ref } : null;
}

/** A device must connect with its username as client id, so no one can take over its session. */
export function clientIdAllowed(p: Principal, clientId: string): boolean {
  return p.kind === 'hub' ? clientId.startsWith(`${HUB_USERNAME}-`) : clientId === `${p.site}/${p.locker}`;
}

export function canPublish(p: Principal, topic: string): boolean {
  const t = parseTopic(topic);
  if (!t) return false;
  const direction = SUFFIXES[t.suffix];
  if (p.kind === 'hub') return direction === 'down';
  return direction === 'up' && t.site === p.site && t.locker === p.locker;
}

export function canSubscribe(p: Principal, filter: string): boolean {
  if (p.kind === 'device') {
    const t = parseTopic(filter);
    return !!t && SUFFIXES[t.suffix] === 'down' && t.site === p.site && t.locker === p.locker;
  }
  // The hub listens to every cabinet's upward topics, one suffix per filter: `casier/v1/<site|+>/+/<suffix>`.
  if (!filter.startsWith(`${TOPIC_PREFIX}/`)) return false;
  const [site, locker, ...tail] = filter.slice(TOPIC_PREFIX.length + 1).split('/');
  const suffix = tail.join('/');
  return (
    (site === '+' || isId(site ?? '')) &&
    (locker === '+' || isId(locker ?? '')) &&
    Object.hasOwn(SUFFIXES, suffix) &&
    SUFFIXES[suffix as Suffix] === 'up'
  );
}
