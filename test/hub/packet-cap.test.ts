/** The embedded broker cuts a connection announcing a packet larger than it takes, before buffering it. */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PacketSizeGuard } from '../../hub/broker/packet-cap.ts';
import { eventually, startTestHub, type TestHub } from '../helpers/hub.ts';

/** An MQTT fixed header: the type byte, then the remaining length in 7-bit groups. */
function header(type: number, length: number): number[] {
  const out = [type];
  do {
    let byte = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) byte |= 0x80;
    out.push(byte);
  } while (length > 0);
  return out;
}
const packet = (type: number, length: number) =>
  Buffer.concat([Buffer.from(header(type, length)), Buffer.alloc(length, 7)]);

describe('PacketSizeGuard', () => {
  // A ping (no body), a small publish (1 length byte), 200 bytes (2), 20,000 bytes (3), the cap exactly.
  const stream = Buffer.concat([
    packet(0xc0, 0),
    packet(0x30, 100),
    packet(0x32, 200),
    packet(0x30, 20_000),
    packet(0x30, 30_000),
    packet(0xc0, 0),
  ]);

  it('lets through packets up to the cap however the bytes are split', () => {
    const whole = new PacketSizeGuard(30_000);
    expect(whole.feed(stream)).toBe('ok');
    for (const size of [1, 2, 3, 7, 4096]) {
      const g = new PacketSizeGuard(30_000);
      const verdicts = new Set<string>();
      for (let i = 0; i < stream.length; i += size) verdicts.add(g.feed(stream.subarray(i, i + size)));
      expect([...verdicts]).toEqual(['ok']);
    }
  });

  it('says too large at the header of the first packet over the cap, and malformed past four length bytes', () => {
    const g = new PacketSizeGuard(30_000);
    expect(g.feed(stream)).toBe('ok');
    expect(g.feed(Buffer.from(header(0x30, 30_001)))).toBe('too_large');
    // Its first length bytes are enough: nothing of the body is needed.
    expect(new PacketSizeGuard(30_000).feed(Buffer.from(header(0x10, 200_000_000)).subarray(0, 4))).toBe(
      'too_large',
    );
    expect(
      new PacketSizeGuard(Number.MAX_SAFE_INTEGER).feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])),
    ).toBe('malformed');
  });
});

describe('the embedded broker', () => {
  it('lets a stranger send a CONNECT and nothing larger: 100 announcing 512 KiB each are cut at their header', async () => {
    // From 10 addresses: one may have only 16 connections not logged in at once (broker-flood.test.ts).
    const sockets = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const s: Socket = connect({
          port: t.hub.mqttPort as number,
          host: '127.0.0.1',
          localAddress: `127.0.0.${10 + (i % 10)}`,
        });
        s.on('error', () => {});
        await new Promise((r) => s.once('connect', r));
        return s;
      }),
    );
    const closed = sockets.map((s) => new Promise<void>((resolve) => s.once('close', () => resolve())));
    // Under the old cap (the largest payload, about a MiB), each would have been gathered whole.
    for (const s of sockets)
      s.write(Buffer.concat([Buffer.from(header(0x10, 512 * 1024)), Buffer.alloc(16 * 1024)]));
    await Promise.all(closed);
    const cut = /casier_mqtt_connections_cut_total\{reason="too_large"\} (\d+)/.exec(
      (await t.api('GET', '/metrics')).body,
    );
    expect(Number(cut?.[1])).toBeGreaterThanOrEqual(100);
  });

  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub();
  });
  afterAll(() => t.close());

  it('cuts a connection announcing a 200 MB packet at its header, and goes on serving the others', async () => {
    const socket: Socket = connect(t.hub.mqttPort as number, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    let sent = 0;
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {}); // reset by the hub: expected
    // A CONNECT announcing 200 MB, then its body a MiB at a time, as fast as the socket takes it.
    socket.write(Buffer.from(header(0x10, 200_000_000)));
    const mib = Buffer.alloc(1 << 20);
    const push = () => {
      while (!socket.destroyed && sent < 200 && socket.write(mib)) sent++;
      if (!socket.destroyed && sent < 200) socket.once('drain', push);
    };
    push();
    await closed;
    expect(sent).toBeLessThan(50); // without the cap aedes read on (and held) the whole 200 MB
    await eventually(
      async () =>
        /casier_mqtt_connections_cut_total\{reason="too_large"\} 1/.test(
          (await t.api('GET', '/metrics')).body,
        ),
      5000,
      'the cut counted',
    );
    const box = await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
    // A cabinet logged in may still send packets far larger than a CONNECT.
    await box.telemetry(Array.from({ length: 4 }, (_, i) => ({ sensor: `t${(i % 2) + 1}`, c: 4 })));
    await box.telemetry([{ sensor: 't1', c: 4 }]);
    await eventually(
      () => (t.hub.db.prepare('SELECT count(*) FROM telemetry').pluck().get() as number) >= 1,
      5000,
      'a cabinet still heard',
    );
  });
});
