/**
 * The dispatcher on the hub's clock: commands published to a recording link, ticks called by the
 * test, nothing waits for a timer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LockerRef, Suffix } from '../../devices/index.ts';
import { Dispatcher, RESEND_AFTER_MS } from '../../hub/dispatcher.ts';
import { Commands } from '../../hub/domain/commands.ts';
import type { Link } from '../../hub/link.ts';
import { createMetrics } from '../../hub/metrics.ts';
import { openStore } from '../../hub/store.ts';

const T0 = Date.UTC(2026, 11, 4, 8);

describe('the dispatcher', () => {
  let dir: string;
  let store: ReturnType<typeof openStore>;
  let published: Array<{ suffix: Suffix; id: string }>;
  let dispatcher: Dispatcher;
  let commands: Commands;
  let now = T0;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'casier-dispatch-'));
    store = openStore(dir, 8, () => now);
    store.provisioning.addDevice({ site: 'ferme', locker: 'box-1' }, 'rural-box-8', 'test');
    store.db.prepare('UPDATE lockers SET online = 1').run();
    published = [];
    const link: Link = {
      start: async () => {},
      stop: async () => {},
      publish: (_ref: LockerRef, suffix: Suffix, payload: unknown) =>
        published.push({ suffix, id: (payload as { id: string }).id }),
    };
    commands = new Commands(store.db);
    // The cabinet's handlers are not reached: no command here expires.
    const lockerEvents = {} as ConstructorParameters<typeof Dispatcher>[2];
    dispatcher = new Dispatcher(
      store.db,
      commands,
      lockerEvents,
      link,
      createMetrics(),
      pino({ level: 'silent' }),
      () => now,
    );
  });

  afterEach(() => {
    dispatcher.stop();
    store.db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes a new unlock once, from its creator, until its resend deadline', () => {
    // A keypad entry commits the unlock; its creator publishes it once the commit is on disk.
    const unlock = store.db.transaction(() =>
      commands.create('box-1', { type: 'unlock', door: 3 }, null, now),
    )();
    // A tick inside that window (the write-ahead log's sync) leaves it to its creator…
    now += 200;
    dispatcher.tick(now);
    expect(published).toEqual([]);
    // …which publishes it when the sync is done.
    now += 100;
    dispatcher.send('box-1', [unlock]);
    for (let i = 0; i < 2; i++) {
      now += 1000;
      dispatcher.tick(now);
    }
    expect(published.map((p) => p.id)).toEqual([unlock.id]);
    // Unanswered at its resend deadline: sent again, once.
    now = T0 + 300 + RESEND_AFTER_MS;
    dispatcher.tick(now);
    dispatcher.tick(now);
    expect(published.map((p) => p.id)).toEqual([unlock.id, unlock.id]);
  });

  it('sends what its creator never published (the hub stopped before the sync) at the deadline', () => {
    const unlock = store.db.transaction(() =>
      commands.create('box-1', { type: 'unlock', door: 3 }, null, now),
    )();
    now += RESEND_AFTER_MS - 1;
    dispatcher.tick(now);
    expect(published).toEqual([]);
    now += 1;
    dispatcher.tick(now);
    expect(published.map((p) => p.id)).toEqual([unlock.id]);
  });
});
