import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DeviceEvent, KeypadThrottle, OFFLINE_BRAKE } from '../../devices/index.ts';
import { Outbox } from '../../firmware-bridge/outbox.ts';

let dir: string;
let outbox: Outbox;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'casier-outbox-'));
  outbox = new Outbox(dir);
});
afterEach(() => {
  outbox.close();
  rmSync(dir, { recursive: true, force: true });
});

const reading = (seq: number) => ({ bootId: 'b', seq, ts: seq, readings: [{ sensor: 't1', c: 3 }] });
const door = (seq: number): DeviceEvent => ({ id: `b-${seq}`, seq, ts: seq, type: 'door.opened', door: 1 });

describe('bridge outbox', () => {
  it('keeps every event, in order, across a reopen, until acknowledged', () => {
    for (let i = 1; i <= 500; i++) outbox.add('b', door(i));
    outbox.close();
    outbox = new Outbox(dir);
    expect(outbox.size).toBe(500);
    expect(outbox.oldest(3).map((r) => r.id)).toEqual(['b-1', 'b-2', 'b-3']);
    expect(outbox.ack(['b-1', 'b-2', 'nope'])).toBe(2);
    expect(outbox.oldest(1)[0]?.id).toBe('b-3');
  });

  it('bounds telemetry: drops the oldest and says how many on the next message sent', () => {
    for (let i = 1; i <= 10; i++) outbox.addTelemetry(reading(i), 4);
    const backlog = outbox.telemetryBacklog(10);
    expect(backlog.map((b) => b.msg.seq)).toEqual([7, 8, 9, 10]);
    expect(backlog[0]?.msg.dropped).toBe(6);
    expect(backlog[1]?.msg.dropped).toBeUndefined();
    outbox.telemetrySent(
      backlog.slice(0, 2).map((b) => b.n),
      true,
    );
    expect(outbox.telemetryBacklog(10).map((b) => [b.msg.seq, b.msg.dropped])).toEqual([
      [9, undefined],
      [10, undefined],
    ]);
  });

  it('runs a command once: a repeat gets the first result, a crash mid-way an interruption', () => {
    expect(outbox.begin('C-1')).toBe(true);
    outbox.finish({ id: 'C-1', ok: true, ts: 1 });
    expect(outbox.begin('C-1')).toBe(false);
    expect(outbox.previous('C-1')).toEqual({ id: 'C-1', ok: true, ts: 1 });
    expect(outbox.begin('C-2')).toBe(true); // … and the bridge dies before finishing
    outbox.close();
    outbox = new Outbox(dir);
    expect(outbox.begin('C-2')).toBe(false);
    expect(outbox.previous('C-2')).toMatchObject({ ok: false, error: expect.stringMatching(/^interrupted/) });
  });
});

describe('bridge outbox housekeeping', () => {
  it('forgets executed commands and codes used offline once they are older than the horizon', () => {
    outbox.begin('C-9');
    outbox.markUsedOffline('ab'.repeat(32));
    outbox.prune(60_000); // a minute: both are fresher, both stay
    expect(outbox.begin('C-9')).toBe(false);
    expect(outbox.usedOffline().size).toBe(1);
    outbox.prune(-60_000); // a horizon in the future: everything is older
    expect(outbox.begin('C-9')).toBe(true);
    expect(outbox.usedOffline().size).toBe(0);
  });
});

describe('the offline keypad brake', () => {
  it('is kept on disk: a bridge restarted gives no fresh guesses', () => {
    const now = 1_700_000_000_000;
    const throttle = new KeypadThrottle(OFFLINE_BRAKE, outbox.brakes);
    for (let i = 0; i <= OFFLINE_BRAKE.free; i++) throttle.fail('offline', now);
    expect(throttle.blockedFor('offline', now)).toBe(OFFLINE_BRAKE.baseMs);
    outbox.close();
    outbox = new Outbox(dir);
    const again = new KeypadThrottle(OFFLINE_BRAKE, outbox.brakes);
    expect(again.blockedFor('offline', now)).toBe(OFFLINE_BRAKE.baseMs);
    // Two days later one failure is forgotten, not all of them.
    expect(again.fail('offline', now + 2 * 24 * 3_600_000)).toBeGreaterThan(0);
  });
});
