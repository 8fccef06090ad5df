/**
 * A cabinet whose credentials an attacker holds: logged in, it may publish only under its own
 * topics, and what it sends there is checked. Sending garbage in a loop is counted, not written to
 * the hub's log a line each (the disk of a Pi fills, and the lines an operator needs drown).
 */
import mqtt from 'mqtt';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { topic } from '../../devices/index.ts';
import { eventually, startTestHub, type TestHub } from '../helpers/hub.ts';

let t: TestHub;
const lines: Array<{ msg: string; suppressed?: number; topic?: string }> = [];
let clock: number;
beforeEach(async () => {
  lines.length = 0;
  clock = Date.now();
  t = await startTestHub({
    now: () => clock,
    log: pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) }),
  });
});
afterEach(() => t?.close());

describe('a cabinet sending garbage in a loop', () => {
  it('has every message dropped and counted, and logged about once a minute', async () => {
    const ref = { site: 'ferme', locker: 'box-1' };
    const { password } = t.hub.provisioning.addDevice(ref, 'rural-box-8', 'test');
    const c = await mqtt.connectAsync(t.hub.mqttUrl, {
      username: 'ferme/box-1',
      clientId: 'ferme/box-1',
      password,
      reconnectPeriod: 0,
    });
    const dropped = () => lines.filter((l) => l.msg === 'device message dropped');
    for (let i = 0; i < 500; i++) c.publish(topic(ref, 'telemetry'), `{"not": "telemetry" ${i}`);
    await eventually(async () => {
      const m = await (await fetch(`http://127.0.0.1:${t.hub.httpPort}/metrics`)).text();
      const n = /casier_ingest_dropped_total\{suffix="telemetry",reason="[a-z_]+"\} (\d+)/.exec(m);
      return Number(n?.[1]) === 500;
    });
    expect(dropped()).toHaveLength(1);
    // A minute later the next one is logged, with how many were left out meanwhile.
    clock += 60_000;
    c.publish(topic(ref, 'telemetry'), 'garbage');
    await eventually(() => dropped().length === 2);
    expect(dropped()[1]?.suppressed).toBe(499);
    await c.endAsync();
  });
});
