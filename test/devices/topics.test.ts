import { describe, expect, it } from 'vitest';
import {
  fleetFilter,
  lockerKey,
  parseLockerKey,
  parseSiteLinkTopic,
  parseTopic,
  SUFFIXES,
  type Suffix,
  siteLinkTopic,
  topic,
} from '../../devices/index.ts';

const ref = { site: 'ferme-du-pic', locker: 'box-1' };

describe('topics', () => {
  it('builds and parses every suffix back to the same locker', () => {
    for (const suffix of Object.keys(SUFFIXES) as Suffix[]) {
      const t = topic(ref, suffix);
      expect(t).toBe(`casier/v1/ferme-du-pic/box-1/${suffix}`);
      expect(parseTopic(t)).toEqual({ ...ref, suffix });
    }
  });

  it('refuses ids outside [a-z0-9][a-z0-9-]{0,62}', () => {
    for (const bad of ['', 'Box', '-box', 'box_1', 'a'.repeat(64), 'box/1', '+', '#']) {
      expect(() => topic({ site: 'ferme', locker: bad }, 'state')).toThrow(/invalid locker/);
    }
    expect(() => topic({ site: 'a'.repeat(63), locker: '0' }, 'state')).not.toThrow();
  });

  it('parses nothing outside the tree, wildcards included', () => {
    for (const t of [
      'casier/v1/ferme/box-1',
      'casier/v1/ferme/box-1/unknown',
      'casier/v1/ferme/box-1/events/ack/x',
      'casier/v2/ferme/box-1/state',
      'casier/v1/+/box-1/state',
      'casier/v1/ferme/#',
      'casier/v1/Ferme/box-1/state',
      '$SYS/broker',
      '',
    ]) {
      expect(parseTopic(t), t).toBeNull();
    }
  });

  it('answers a topic seen before from memory, shared and frozen, and stays right past its bound', () => {
    const t = topic(ref, 'telemetry');
    const first = parseTopic(t);
    expect(parseTopic(t)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(parseTopic('casier/v1/ferme/#')).toBeNull();
    expect(parseTopic('casier/v1/ferme/#')).toBeNull(); // a refusal is remembered too
    // A client inventing topics: the memory is forgotten when full, answers stay the same.
    for (let i = 0; i < 60_000; i++) parseTopic(`casier/v1/ferme/box-${i}/state`);
    expect(parseTopic(t)).toEqual({ ...ref, suffix: 'telemetry' });
    expect(parseTopic('casier/v1/ferme/box-59999/state')).toEqual({
      site: 'ferme',
      locker: 'box-59999',
      suffix: 'state',
    });
  });

  it('builds the hub filters for one suffix, on all sites or one', () => {
    expect(fleetFilter('events')).toBe('casier/v1/+/+/events');
    expect(fleetFilter('state', 'ferme')).toBe('casier/v1/ferme/+/state');
  });

  it("names a site's line state, and parses back only that", () => {
    expect(siteLinkTopic('ferme')).toBe('casier/v1/ferme/link');
    expect(parseSiteLinkTopic(siteLinkTopic('ferme'))).toBe('ferme');
    for (const t of [
      'casier/v1/ferme/box-1/link',
      'casier/v1//link',
      'casier/v1/+/link',
      'casier/v2/ferme/link',
    ])
      expect(parseSiteLinkTopic(t)).toBeNull();
    expect(parseTopic('casier/v1/ferme/link')).toBeNull(); // not a locker's topic
    expect(() => siteLinkTopic('Ferme')).toThrow(/invalid site/);
  });

  it('round-trips locker keys', () => {
    expect(parseLockerKey(lockerKey(ref))).toEqual(ref);
    expect(parseLockerKey('ferme')).toBeNull();
    expect(parseLockerKey('ferme/box/1')).toBeNull();
    expect(parseLockerKey('ferme/Box')).toBeNull();
  });
});
