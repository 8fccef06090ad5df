/** The live feed on its own: a client that stops reading is cut, not buffered without bound. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { eventually } from '../helpers/hub.ts';
import { type LiveFeedRig, liveFeedRig } from '../helpers/live.ts';

let rig: LiveFeedRig;

beforeAll(async () => {
  rig = await liveFeedRig({
    maxQueued: 64 * 1024,
    // Long enough for the stalled client below to fill its buffers on a loaded machine before it
    // misses two pings (then it would be dropped as dead, not as too slow).
    heartbeatMs: 1000,
  });
});
afterAll(() => rig?.close());

async function signedIn() {
  const ws = new WebSocket(rig.url);
  let received = 0;
  ws.on('message', () => received++);
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send(JSON.stringify({ type: 'auth', token: rig.token }));
  await eventually(() => received > 0);
  return { ws, received: () => received };
}

const disconnects = async (reason: string) =>
  (await rig.metrics.registry.getSingleMetric('casier_live_disconnects_total')?.get())?.values.find(
    (v) => v.labels.reason === reason,
  )?.value ?? 0;

describe('live feed back-pressure', () => {
  it('cuts a client that stopped reading, while one that reads keeps up', async () => {
    const reader = await signedIn();
    const stalled = await signedIn();
    // The stalled client's socket stops reading: what the hub sends piles up on its side.
    (stalled.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const closed = new Promise((resolve) => stalled.ws.once('close', resolve));
    const batch = Array.from({ length: 4000 }, (_, i) => ({
      lockerId: 'box-1',
      sensor: 't1',
      ts: i,
      c: 4.25,
    }));
    // About 45 kB a message: enough to fill the kernel's buffers, then the hub's 4 MiB.
    for (let i = 0; i < 2000 && (await disconnects('too_slow')) === 0; i++) {
      rig.feed.readings(batch);
      rig.feed.tick();
      await new Promise((r) => setImmediate(r));
    }
    expect(await disconnects('too_slow')).toBe(1);
    (stalled.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await closed;
    expect(reader.ws.readyState).toBe(WebSocket.OPEN);
    expect(reader.received()).toBeGreaterThan(10);
    reader.ws.close();
  });

  it('drops a client that answers no ping', async () => {
    const silent = await signedIn();
    // A peer that vanished without a close: it neither reads nor answers pings.
    (silent.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await eventually(async () => (await disconnects('dead')) === 1, 10_000, 'the silent client dropped');
    silent.ws.terminate();
  });
});
