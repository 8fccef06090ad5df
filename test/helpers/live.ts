/**
 * The live feed on its own, over a fresh store, served on a loopback port: for the tests of its
 * back-pressure and its snapshots, which drive `tick()` and `readings()` themselves.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { LIVE_PATH } from '../../devices/index.ts';
import { Alarms } from '../../hub/domain/coldchain/alarms.ts';
import { LiveFeed, type LiveFeedOptions } from '../../hub/live.ts';
import { createMetrics, type Metrics } from '../../hub/metrics.ts';
import { openStore } from '../../hub/store.ts';

type Store = ReturnType<typeof openStore>;

export interface LiveFeedRig {
  store: Store;
  metrics: Metrics;
  feed: LiveFeed;
  /** An operator's token. */
  token: string;
  /** ws://…/api/v1/live */
  url: string;
  close(): Promise<void>;
}

/** `prepare` fills the store before the feed starts (it reads the ledger's end then). */
export async function liveFeedRig(
  options: Partial<LiveFeedOptions>,
  prepare: (store: Store) => void = () => {},
): Promise<LiveFeedRig> {
  const dir = mkdtempSync(join(tmpdir(), 'casier-live-'));
  const store = openStore(dir);
  prepare(store);
  const metrics = createMetrics();
  const feed = new LiveFeed({
    db: store.db,
    fleet: store.fleet,
    alarms: new Alarms(store.db, store.ledger),
    provisioning: store.provisioning,
    metrics,
    log: pino({ level: 'silent' }),
    now: Date.now,
    ...options,
  });
  const token = store.provisioning.createToken('operator', 'ops', 'test').token;
  const server = createServer();
  feed.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    store,
    metrics,
    feed,
    token,
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}${LIVE_PATH}`,
    async close() {
      await feed.close();
      await new Promise((resolve) => server.close(resolve));
      store.db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
