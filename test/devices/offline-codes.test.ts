/**
 * The offline hash of docs/protocol.md §3.2, byte for byte: the example there is this vector, so a
 * bridge or a hub written from the document computes what ours do.
 */
import { describe, expect, it } from 'vitest';
import { OFFLINE_COST, offlineCost, offlineHash, offlineKey, offlineMac } from '../../devices/index.ts';

const password = 'q7Yf3bK9xW2mN8pR4tV6zA1cE5gH0jL3nP7sU9wX2yB';
const code = '40715238';

describe('the offline hash of a code', () => {
  it('is scrypt, at the production cost and salted with the locker, of the HMAC under the cabinet key', async () => {
    const k = offlineKey(password);
    expect(k.toString('hex')).toBe('2500fac9611b44a1b24dd48390df715653460397cc288420c0240d4366b30540');
    expect(offlineMac(k, code)).toBe('3ee31e0362cc2e51db082e2bec43f6f3578841ccc97291462c415faffb0e7fb7');
    expect(await offlineHash(k, 'box-1', code, OFFLINE_COST)).toBe(
      '703c24aea74c9aefd1adae6d23edc52720c9cbbfae5158665ee871ae8398f4dc',
    );
    // Another cabinet's table holds another hash for the same HMAC: nothing is shared between them.
    expect(await offlineHash(k, 'box-2', code, OFFLINE_COST)).not.toBe(
      '703c24aea74c9aefd1adae6d23edc52720c9cbbfae5158665ee871ae8398f4dc',
    );
  });

  it('costs what a table may ask of a cabinet, no more: 32 MiB now, 64 MiB at most', () => {
    expect(offlineCost.safeParse(OFFLINE_COST).success).toBe(true);
    expect(offlineCost.safeParse({ N: 2 ** 17, r: 8, p: 1 }).success).toBe(false);
    expect(offlineCost.safeParse({ N: 3000, r: 8, p: 1 }).success).toBe(false);
  });
});
