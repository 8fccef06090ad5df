import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { type Component, Components } from '../../hub/components.ts';

const log = pino({ level: 'silent' });

function recorder(name: string, seen: string[], tick?: (now: number) => Promise<void> | void): Component {
  return {
    name,
    everyMs: 1000,
    start: () => seen.push(`start ${name}`),
    stop: () => void seen.push(`stop ${name}`),
    tick: async (now) => {
      seen.push(`tick ${name} ${now}`);
      await tick?.(now);
    },
  };
}

describe('components', () => {
  it('start in order, tick at the time given, stop in reverse order', async () => {
    const seen: string[] = [];
    const c = new Components([recorder('a', seen), recorder('b', seen)], () => 7, log, true);
    c.start();
    await c.tick(42);
    await c.tick();
    await c.stop();
    expect(seen).toEqual([
      'start a',
      'start b',
      'tick a 42',
      'tick b 42',
      'tick a 7',
      'tick b 7',
      'stop b',
      'stop a',
    ]);
    await expect(c.tick()).rejects.toThrow(/stopped/);
  });

  it('let a round under way finish before any component stops', async () => {
    const seen: string[] = [];
    let finish = () => {};
    const slow = recorder('notifier', seen, () => new Promise<void>((r) => (finish = r)));
    const c = new Components([recorder('store', seen), slow], () => 0, log, true);
    c.start();
    void c.tick(1);
    const stopped = c.stop().then(() => seen.push('stopped'));
    await new Promise((r) => setImmediate(r));
    expect(seen).not.toContain('stop store');
    seen.push('sent');
    finish();
    await stopped;
    expect(seen.slice(-4)).toEqual(['sent', 'stop notifier', 'stop store', 'stopped']);
  });

  it('keep the others running when one fails', async () => {
    const seen: string[] = [];
    const failing = recorder('bad', seen, () => {
      throw new Error('boom');
    });
    const c = new Components([failing, recorder('good', seen)], () => 0, log, true);
    c.start();
    await c.tick(5);
    await c.stop();
    expect(seen).toContain('tick good 5');
  });
});
