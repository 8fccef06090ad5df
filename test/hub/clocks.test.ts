import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Clocks } from '../../hub/domain/clocks.ts';
import { Alarms } from '../../hub/domain/coldchain/alarms.ts';
import { openStore } from '../../hub/store.ts';

const MIN = 60_000;
const T = Date.UTC(2026, 11, 7, 9, 0);

function clocks() {
  const raised: string[] = [];
  const alarms = {
    raise: (a: { kind: string; details?: { offsetMs: number } }) => {
      raised.push(`raise ${a.kind} ${a.details?.offsetMs}`);
      return undefined;
    },
    clear: (_l: string, _s: null, kind: string) => void raised.push(`clear ${kind}`),
  } as unknown as Alarms;
  return { c: new Clocks(alarms), raised };
}

describe('a cabinet clock estimate', () => {
  it('is set by the state a cabinet sends as it connects, and refined by the least-delayed reading', () => {
    const { c } = clocks();
    c.sample('box-1', 'b', T - 10 * MIN - 300, T, true); // 10 min behind, 300 ms on the way
    expect(c.offset('box-1')).toBe(10 * MIN + 300);
    c.sample('box-1', 'b', T + MIN - 10 * MIN - 20, T + MIN); // a reading that waited 20 ms
    expect(c.offset('box-1')).toBe(10 * MIN + 20);
    expect(c.toHub('box-1', T)).toBe(T + 10 * MIN + 20);
  });

  it('corrects nothing within 5 s, nor before the cabinet said it connected', () => {
    const { c } = clocks();
    c.sample('box-1', 'b', T - 30 * MIN, T); // the first of a replayed backlog: not a clock
    expect(c.offset('box-1')).toBe(0);
    c.sample('box-1', 'b', T - 4000, T, true);
    expect(c.offset('box-1')).toBe(0);
  });

  it('moves for no single badly stamped message, ahead or behind', () => {
    const { c } = clocks();
    c.sample('box-1', 'b', T, T, true);
    c.sample('box-1', 'b', T + MIN + 24 * 60 * MIN, T + MIN); // a day ahead, once
    c.sample('box-1', 'b', T + 2 * MIN, T + 2 * MIN);
    c.sample('box-1', 'b', T + 3 * MIN - 3 * 60 * MIN, T + 3 * MIN); // 3 h behind, once
    c.sample('box-1', 'b', T + 4 * MIN, T + 4 * MIN);
    expect(c.offset('box-1')).toBe(0);
  });

  it('follows a clock that stepped ahead once two messages in a row agree', () => {
    const { c, raised } = clocks();
    c.sample('box-1', 'b', T, T, true);
    c.sample('box-1', 'b', T + MIN + 10 * MIN, T + MIN);
    expect(c.offset('box-1')).toBe(0);
    c.sample('box-1', 'b', T + 2 * MIN + 10 * MIN, T + 2 * MIN);
    expect(c.offset('box-1')).toBe(-10 * MIN);
    expect(raised.at(-1)).toBe(`raise clock_skew ${-10 * MIN}`);
  });

  it('follows a clock that stepped back only once every message shows it for 5 minutes; a backlog does not', () => {
    const { c } = clocks();
    c.sample('box-1', 'b', T, T, true);
    // A backlog drained in seconds: hours late, each.
    for (let i = 0; i < 100; i++) c.sample('box-1', 'b', T - 60 * MIN + i * 30_000, T + i * 10);
    c.sample('box-1', 'b', T + 5000, T + 5000);
    expect(c.offset('box-1')).toBe(0);
    // The clock set back by 2 minutes, for good: one message a minute.
    for (let m = 1; m <= 6; m++) c.sample('box-1', 'b', T + m * MIN - 2 * MIN, T + m * MIN);
    expect(c.offset('box-1')).toBe(2 * MIN);
  });

  it('starts again at a new boot', () => {
    const { c, raised } = clocks();
    c.sample('box-1', 'b', T - 10 * MIN, T, true);
    c.sample('box-1', 'c', T + MIN, T + MIN, true);
    expect(c.offset('box-1')).toBe(0);
    expect(raised.at(-1)).toBe('clear clock_skew');
  });

  it('moves for no backlog of an earlier boot, drained after the new boot said it connected', () => {
    const { c } = clocks();
    c.sample('box-1', 'b', T - 10 * MIN, T, true);
    c.sample('box-1', 'c', T + MIN - 10 * MIN, T + MIN, true); // rebooted, same clock
    for (let i = 0; i < 20; i++) c.sample('box-1', 'b', T - 60 * MIN + i * MIN, T + MIN + i); // b's buffer
    expect(c.offset('box-1')).toBe(10 * MIN);
  });

  it('is kept in the store across a hub restart, and says when the applied offset moved', () => {
    const dir = mkdtempSync(join(tmpdir(), 'casier-clocks-'));
    const store = openStore(dir);
    try {
      store.provisioning.addDevice({ site: 'ferme', locker: 'box-1' }, 'rural-box-8', 'test');
      const moved: string[] = [];
      const alarms = new Alarms(store.db, store.ledger);
      const first = new Clocks(alarms, store.db, (l) => moved.push(l));
      store.db.transaction(() => first.sample('box-1', 'b', T - 10 * MIN, T, true))();
      expect(moved).toEqual(['box-1']);
      // A hub restarted while the cabinet stays connected (an external broker): no new state.
      const second = new Clocks(alarms, store.db);
      expect(second.offset('box-1')).toBe(10 * MIN);
    } finally {
      store.db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
