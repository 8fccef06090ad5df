/** EventOrder against a store, the domain stood in for: what it does when an event cannot be applied. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceEvent } from '../../devices/index.ts';
import { EventOrder } from '../../hub/event-order.ts';
import { createMetrics } from '../../hub/metrics.ts';
import { openStore } from '../../hub/store.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('events in order', () => {
  it('record an event the domain cannot apply, and go on with the ones after it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'casier-order-'));
    dirs.push(dir);
    const store = openStore(dir);
    try {
      const order = new EventOrder(
        store.db,
        store.ledger,
        createMetrics(),
        pino({ level: 'silent' }),
        (c) => `h${c}`,
      );
      const ev = (seq: number) =>
        ({ id: `b-${seq}`, seq, ts: 1000 + seq, type: 'door.opened', door: 1 }) as DeviceEvent;
      const applied: number[] = [];
      const apply = (_l: string, e: DeviceEvent) => {
        if (e.seq === 2) throw new Error('a state nobody foresaw');
        applied.push(e.seq);
        return [];
      };
      const receive = (seqs: number[]) =>
        store.db.transaction(() => order.receive('box-1', 'b', seqs.map(ev), 0, apply)).immediate();
      receive([2, 3]); // held behind the hole at 1
      receive([1]); // fills it: 1 applied, 2 fails, 3 applied all the same
      receive([4]);
      expect(applied).toEqual([1, 3, 4]);
      const failed = store.db
        .prepare(`SELECT data FROM events WHERE type = 'device.event_failed'`)
        .pluck()
        .all()
        .map((d) => JSON.parse(d as string));
      expect(failed).toEqual([{ eventId: 'b-2', type: 'door.opened', error: 'a state nobody foresaw' }]);
      expect(store.db.prepare('SELECT count(*) FROM device_events WHERE held = 1').pluck().get()).toBe(0);
    } finally {
      store.db.close();
    }
  });
});
