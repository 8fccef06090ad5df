/**
 * The live feed's snapshot at a region's scale (1,600 cabinets: about 5 MB): a dashboard still
 * receiving it is not taken for a slow one, and dashboards signing in together share one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { LiveServerMessage } from '../../devices/index.ts';
import { eventually } from '../helpers/hub.ts';
import { type LiveFeedRig, liveFeedRig } from '../helpers/live.ts';

const LOCKERS = 1600;
let rig: LiveFeedRig;
let builds = 0;

beforeAll(async () => {
  rig = await liveFeedRig(
    // Long enough for a loaded machine to sign several clients in (the age limit is not tested
    // here), and no heartbeat among the messages counted.
    { maxQueued: 64 * 1024, shareMs: 60_000, heartbeatMs: 60_000 },
    (store) => {
      for (let i = 1; i <= LOCKERS; i++)
        store.provisioning.addDevice({ site: 'region', locker: `box-${i}` }, 'town-locker-16', 'test');
      const views = store.fleet.lockerViews.bind(store.fleet);
      store.fleet.lockerViews = () => {
        builds++;
        return views();
      };
    },
  );
});
afterAll(() => rig?.close());

interface Dashboard {
  ws: WebSocket;
  messages: LiveServerMessage[];
}

/** Signs in; `paused` keeps its socket from reading, as a dashboard on a slow link. */
async function dashboard(paused = false): Promise<Dashboard> {
  const ws = new WebSocket(rig.url);
  const messages: LiveServerMessage[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(data.toString())));
  await new Promise((resolve) => ws.once('open', resolve));
  if (paused) (ws as unknown as { _socket: { pause(): void } })._socket.pause();
  ws.send(JSON.stringify({ type: 'auth', token: rig.token }));
  return { ws, messages };
}

const gauge = async (name: string, reason?: string) =>
  (await rig.metrics.registry.getSingleMetric(name)?.get())?.values.find(
    (v) => reason === undefined || v.labels.reason === reason,
  )?.value ?? 0;

const reading = (c: number) => [{ lockerId: 'box-1', sensor: 't7', ts: Date.now(), c }];

/** A ledger event, sent to whoever is signed in. */
function note() {
  rig.store.db.transaction(() =>
    rig.store.ledger.append({ ts: Date.now(), type: 'test.note', actor: 'test', lockerId: 'box-2' }),
  )();
  rig.feed.tick();
}

async function closeAll(list: Dashboard[]) {
  await Promise.all(list.map((d) => new Promise((resolve) => d.ws.once('close', resolve).close())));
  await eventually(async () => (await gauge('casier_live_clients')) === 0);
}

describe('live feed snapshot at a region', () => {
  it('does not cut a dashboard still receiving its snapshot, and sends the deltas after it', async () => {
    const slow = await dashboard(true);
    await eventually(async () => (await gauge('casier_live_clients')) === 1, 10_000, 'signed in');
    // The snapshot (5 MB) waits in the hub's queue beyond the 64 KiB a client may fall behind.
    for (const c of [3.1, 3.2, 3.3]) {
      rig.feed.readings(reading(c));
      rig.feed.tick();
      await new Promise((r) => setImmediate(r));
    }
    expect(await gauge('casier_live_disconnects_total', 'too_slow')).toBe(0);
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await eventually(() => slow.messages.length === 4, 10_000, 'the snapshot and three deltas');
    const [snapshot, ...deltas] = slow.messages;
    expect(snapshot?.type === 'snapshot' && snapshot.lockers.length).toBe(LOCKERS);
    expect(deltas.map((m) => m.type)).toEqual(['readings', 'readings', 'readings']);
    expect(slow.ws.readyState).toBe(WebSocket.OPEN);
    await closeAll([slow]);
  });

  it('builds one snapshot for dashboards signing in together, brought up to date by the readings since', async () => {
    note(); // the last test's snapshot is old now
    const before = builds;
    const first = await Promise.all([dashboard(), dashboard(), dashboard()]);
    await eventually(() => first.every((d) => d.messages.length === 1), 10_000, 'three snapshots');
    expect(builds - before).toBe(1);
    const at = (d: Dashboard) => (d.messages[0] as Extract<LiveServerMessage, { type: 'snapshot' }>).at;
    expect(new Set(first.map(at)).size).toBe(1);

    const at0 = at(first[0] as Dashboard);
    // Readings stored meanwhile, even with nobody signed in, reach a later dashboard after the
    // shared snapshot, in order.
    await closeAll(first);
    expect(rig.feed.listening).toBe(true);
    for (const c of [4.1, 4.2]) {
      rig.feed.readings(reading(c));
      rig.feed.tick();
    }
    const late = await dashboard();
    await eventually(() => late.messages.length === 3, 10_000, 'snapshot and the two readings');
    expect(builds - before).toBe(1);
    expect(at(late)).toBe(at0);
    const shown = late.messages
      .slice(1)
      .map((m) => (m.type === 'readings' ? m.lockers['box-1']?.r.map((row) => row[1]) : m.type));
    expect(shown).toEqual([[4.1], [4.2]]);

    // A ledger event changes what a snapshot shows: the next dashboard gets a new one.
    note();
    const after = await dashboard();
    await eventually(() => after.messages.length === 1, 10_000, 'a new snapshot');
    expect(builds - before).toBe(2);
    const seq = (d: Dashboard) => (d.messages[0] as Extract<LiveServerMessage, { type: 'snapshot' }>).seq;
    expect(seq(after)).toBeGreaterThan(seq(late));
    await closeAll([late, after]);
  });
});
