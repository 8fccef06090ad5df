import { describe, expect, it } from 'vitest';
import { linePair } from '../../devices/index.ts';

const tick = () => new Promise((r) => setImmediate(r));

describe('an in-memory serial line', () => {
  it('delivers what one end writes to the other, in order, never inside the write', async () => {
    const [a, b] = linePair();
    const got: number[] = [];
    b.onData((chunk) => got.push(...chunk));
    a.write(Uint8Array.from([1, 2]));
    a.write(Uint8Array.from([3]));
    expect(got).toEqual([]); // a UART does not answer within the writer's call
    await tick();
    await tick();
    expect(got).toEqual([1, 2, 3]);
  });

  it('keeps a copy of the bytes, not the buffer the writer goes on using', async () => {
    const [a, b] = linePair();
    const got: number[] = [];
    b.onData((chunk) => got.push(...chunk));
    const buf = Uint8Array.from([7, 7]);
    a.write(buf);
    buf.fill(0);
    await tick();
    expect(got).toEqual([7, 7]);
  });

  it('holds bytes written before the other end listens, as a port buffer does', async () => {
    const [a, b] = linePair();
    a.write(Uint8Array.from([0xa5]));
    await tick();
    const got: number[] = [];
    b.onData((chunk) => got.push(...chunk));
    a.write(Uint8Array.from([0x01]));
    await tick();
    await tick();
    expect(got).toEqual([0xa5, 0x01]);
  });

  it('never lets bytes written later overtake bytes held for a listener to come', async () => {
    const [a, b] = linePair();
    a.write(Uint8Array.from([1]));
    await tick(); // held: nobody listens yet
    a.write(Uint8Array.from([2])); // on its way when the listener arrives
    const got: number[] = [];
    b.onData((chunk) => got.push(...chunk));
    a.write(Uint8Array.from([3]));
    await tick();
    await tick();
    expect(got).toEqual([1, 2, 3]);
  });

  it('closes both ends, and carries nothing after', async () => {
    const [a, b] = linePair();
    const closed: string[] = [];
    a.onClose(() => closed.push('a'));
    b.onClose(() => closed.push('b'));
    const got: number[] = [];
    a.onData((chunk) => got.push(...chunk));
    await b.close();
    b.write(Uint8Array.from([1]));
    await tick();
    await tick();
    expect(closed.sort()).toEqual(['a', 'b']);
    expect(got).toEqual([]);
  });
});
