import { describe, expect, it } from 'vitest';
import {
  canPublish,
  canSubscribe,
  clientIdAllowed,
  type Principal,
  principalFor,
} from '../../hub/broker/policy.ts';

const box: Principal = { kind: 'device', site: 'ferme', locker: 'box-1' };
const hub: Principal = { kind: 'hub' };
const own = (s: string) => `casier/v1/ferme/box-1/${s}`;
const other = (s: string) => `casier/v1/ferme/box-2/${s}`;

describe('broker policy', () => {
  it.each([
    // device, its own topics, upward only
    [box, own('state'), true],
    [box, own('telemetry'), true],
    [box, own('events'), true],
    [box, own('commands/result'), true],
    [box, own('commands'), false],
    [box, own('events/ack'), false],
    [box, own('codes'), false],
    // device, another locker or outside the tree
    [box, other('events'), false],
    [box, 'casier/v1/autre/box-1/events', false],
    [box, own('events/extra'), false],
    [box, '$SYS/x', false],
    [box, 'anything', false],
    // hub: downward topics of any locker, never upward ones (it does not speak for devices)
    [hub, own('commands'), true],
    [hub, other('events/ack'), true],
    [hub, own('codes'), true],
    [hub, own('state'), false],
    [hub, own('events'), false],
    [hub, 'casier/v1/+/+/commands', false],
  ] as const)('publish %o %s → %s', (p, topic, allowed) => {
    expect(canPublish(p, topic)).toBe(allowed);
  });

  it.each([
    [box, own('commands'), true],
    [box, own('events/ack'), true],
    [box, own('codes'), true],
    [box, own('events'), false],
    [box, other('commands'), false],
    [box, '#', false],
    [box, 'casier/v1/ferme/+/commands', false],
    [box, 'casier/v1/ferme/box-1/#', false],
    [box, 'casier/v1/ferme/box-1/+', false],
    [hub, 'casier/v1/+/+/events', true],
    [hub, 'casier/v1/ferme/+/state', true],
    [hub, 'casier/v1/+/+/commands/result', true],
    [hub, 'casier/v1/+/+/commands', false],
    [hub, '#', false],
    [hub, 'casier/v1/#', false],
    [hub, 'casier/v1/+/+/+', false],
  ] as const)('subscribe %o %s → %s', (p, filter, allowed) => {
    expect(canSubscribe(p, filter)).toBe(allowed);
  });

  it('maps usernames to principals, refusing anything unrecognised', () => {
    expect(principalFor('ferme/box-1')).toEqual(box);
    expect(principalFor('casier-hub')).toEqual(hub);
    for (const u of [undefined, '', 'ferme', 'Ferme/box-1', 'ferme/box-1/x', 'admin'])
      expect(principalFor(u)).toBeNull();
  });

  it('binds a device to its own client id', () => {
    expect(clientIdAllowed(box, 'ferme/box-1')).toBe(true);
    expect(clientIdAllowed(box, 'ferme/box-2')).toBe(false);
    expect(clientIdAllowed(box, 'casier-hub-1')).toBe(false);
    expect(clientIdAllowed(hub, 'casier-hub-ab12')).toBe(true);
  });
});
