import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CasierLink, type LinkOutput, type Message } from '../../devices/index.ts';

/** Two link ends on a line that corrupts bytes with probability `flip`; simulated time in ms. */
function run(messages: Message[], flip: number, seed: number) {
  let rnd = seed;
  const random = () => {
    rnd = (rnd * 1103515245 + 12345) & 0x7fffffff;
    return rnd / 0x7fffffff;
  };
  const a = new CasierLink({ retransmitMs: 50, maxAttempts: 1000, maxQueue: 10_000 });
  const b = new CasierLink({ retransmitMs: 50, maxAttempts: 1000 });
  const toB: Uint8Array[] = [];
  const toA: Uint8Array[] = [];
  const got: Message[] = [];
  const noisy = (bytes: Uint8Array) =>
    bytes.map((x) => (random() < flip ? x ^ (1 << Math.floor(random() * 8)) : x));
  const take = (o: LinkOutput, queue: Uint8Array[], sink?: Message[]) => {
    for (const w of o.writes) queue.push(noisy(w));
    sink?.push(...o.messages);
  };
  let now = 0;
  for (const m of messages) take(a.send(m, now), toB);
  for (let step = 0; step < 200_000 && (got.length < messages.length || !a.idle); step++) {
    now += 5;
    take(a.poll(now), toB);
    take(b.poll(now), toA);
    while (toB.length) take(b.receive(toB.shift() as Uint8Array, now), toA, got);
    while (toA.length) take(a.receive(toA.shift() as Uint8Array, now), toB);
  }
  return got;
}

const unlocks = (n: number): Message[] =>
  Array.from({ length: n }, (_, i) => ({ type: 'unlock', channel: i % 16, pulseMs: 300 + i }));

describe('casier serial link', () => {
  it('delivers every message once, in order, on a clean line', () => {
    expect(run(unlocks(300), 0, 1)).toEqual(unlocks(300));
  });

  it('delivers every message once, in order, when 1 byte in 100 has a flipped bit (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 30 }), (seed) => {
        expect(run(unlocks(60), 0.01, seed)).toEqual(unlocks(60));
      }),
      { numRuns: 20 },
    );
  });

  it('acknowledges a retransmission again without delivering it twice', () => {
    const a = new CasierLink();
    const b = new CasierLink();
    const [frame] = a.send({ type: 'unlock', channel: 3, pulseMs: 500 }, 0).writes as [Uint8Array];
    const first = b.receive(frame, 0);
    const again = b.receive(frame, 200); // the ACK was lost: A sent the frame again
    expect(first.messages).toHaveLength(1);
    expect(again).toMatchObject({ messages: [], duplicates: 1 });
    expect(again.writes).toHaveLength(1);
  });

  it('gives up on a frame after maxAttempts and moves on to the next', () => {
    const a = new CasierLink({ retransmitMs: 10, maxAttempts: 3 });
    a.send({ type: 'beep', pattern: 1 }, 0);
    a.send({ type: 'beep', pattern: 2 }, 0);
    let failed: Message[] = [];
    let sends = 1;
    for (let t = 10; t <= 30; t += 10) {
      const o = a.poll(t);
      failed = failed.concat(o.failed);
      sends += o.writes.length;
    }
    expect(failed).toEqual([{ type: 'beep', pattern: 1 }]);
    expect(sends).toBe(4); // 3 attempts of the first, then the second goes out
  });
});

describe('casier serial link queue', () => {
  it('lets a lock result overtake queued readings, and keeps only the newest readings', () => {
    const a = new CasierLink();
    const reading = (c: number): Message => ({ type: 'temperatures', readings: [{ channel: 0, centi: c }] });
    a.send({ type: 'beep', pattern: 1 }, 0); // in flight
    a.send(reading(100), 0);
    a.send(reading(200), 0);
    a.send({ type: 'lockResult', channel: 3, ok: true }, 0);
    const b = new CasierLink();
    const delivered: Message[] = [];
    let pending = [...a.poll(1000).writes];
    for (let i = 0; i < 10 && pending.length; i++) {
      const acks: Uint8Array[] = [];
      for (const w of pending) {
        const o = b.receive(w, 1000 + i);
        delivered.push(...o.messages);
        acks.push(...o.writes);
      }
      pending = acks.flatMap((ack) => a.receive(ack, 1000 + i).writes);
    }
    expect(delivered.map((m) => m.type)).toEqual(['beep', 'lockResult', 'temperatures']);
    expect(delivered[2]).toEqual(reading(200));
  });
});
