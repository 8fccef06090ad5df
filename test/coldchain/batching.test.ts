/**
 * A property of the cold chain: the same readings, however they are batched into flushes and
 * whenever the hub restarts in between, give the same stored readings, aggregates, rule states and
 * alarms (raised and cleared at the same event times). Seeded scenarios: two compartments over six
 * hours, with door openings, excursions, a failing compressor and a freezer cycling.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TelemetryMessage } from '../../devices/index.ts';
import { Alarms } from '../../hub/domain/coldchain/alarms.ts';
import { ColdChain } from '../../hub/domain/coldchain/coldchain.ts';
import { openStore } from '../../hub/store.ts';
import { Rng } from '../soak/rng.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 11, 7, 6, 0);

/** Six hours of readings, one a minute, of a chilled (t1) and a frozen (t5) compartment. */
function scenario(seed: number): TelemetryMessage[] {
  const rng = new Rng(seed);
  let chilled = 3;
  let frozen = -20;
  let failing = 0; // minutes left of a failing compressor
  const out: TelemetryMessage[] = [];
  for (let m = 0; m < 360; m++) {
    if (failing === 0 && rng.next() < 0.01) failing = rng.int(10, 60);
    if (failing > 0) {
      chilled += 0.4;
      failing--;
    } else chilled += (3 - chilled) * 0.2 + rng.between(-0.2, 0.2);
    if (rng.next() < 0.05) chilled += rng.between(1, 4); // a door opening
    frozen = -15 + 4 * Math.sin((m / 20) * 2 * Math.PI) + rng.between(-0.5, 0.5); // cycling
    out.push({
      bootId: 'b',
      seq: m,
      ts: T0 + m * MIN,
      readings: [
        { sensor: 't1', c: Math.round(chilled * 100) / 100 },
        { sensor: 't5', c: Math.round(frozen * 100) / 100 },
      ],
    });
  }
  return out;
}

/** Feeds the messages in batches (and restarts) as `plan` says; returns what the store ends with. */
function run(
  messages: TelemetryMessage[],
  plan: (rng: Rng) => { batch: number; restart: boolean },
  seed: number,
) {
  const dir = mkdtempSync(join(tmpdir(), 'casier-batching-'));
  const store = openStore(dir);
  try {
    store.provisioning.addDevice({ site: 'ferme', locker: 'box-1' }, 'rural-box-8', 'test');
    let now = T0;
    const make = () => new ColdChain(store.db, store.ledger, new Alarms(store.db, store.ledger), () => now);
    let chain = make();
    const rng = new Rng(seed);
    for (let i = 0; i < messages.length; ) {
      const { batch, restart } = plan(rng);
      for (const m of messages.slice(i, i + batch)) {
        now = m.ts + 1000; // the hub hears each reading a second after it was taken
        chain.add('box-1', m);
      }
      i += batch;
      chain.flush();
      if (restart) {
        chain.persist();
        chain = make();
      }
    }
    chain.persist();
    const q = (sql: string) => store.db.prepare(sql).all();
    return {
      readings: q(`SELECT sensor, ts, c FROM readings ORDER BY sensor, ts`),
      aggregates: q(
        'SELECT sensor, bucket, min, max, n, round(sum, 6) AS sum FROM readings_5m ORDER BY sensor, bucket',
      ),
      rules: q('SELECT sensor, rules FROM sensor_state ORDER BY sensor'),
      alarms: q(
        'SELECT sensor, kind, level, raised_at, since, cleared_at, details FROM alarms ORDER BY raised_at, sensor, kind, level',
      ),
    };
  } finally {
    store.db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the cold chain, whatever the batching', () => {
  it('ends the same for every seed: all at once, one by one, or in random batches with restarts', () => {
    for (let seed = 1; seed <= 6; seed++) {
      const messages = scenario(seed);
      const whole = run(messages, () => ({ batch: messages.length, restart: false }), seed);
      // The scenarios do what they are for: alarms raised and cleared, on both compartments.
      expect(whole.alarms.length, `seed ${seed}`).toBeGreaterThan(0);
      const oneByOne = run(messages, () => ({ batch: 1, restart: false }), seed);
      const random = run(messages, (rng) => ({ batch: rng.int(1, 40), restart: rng.next() < 0.15 }), seed);
      expect(oneByOne, `seed ${seed}, one by one`).toEqual(whole);
      expect(random, `seed ${seed}, random batches and restarts`).toEqual(whole);
    }
  });
});
