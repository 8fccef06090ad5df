/** What a parcel's people do in the tests: the platform orders it, producers and customers use its codes. */
import { expect } from 'vitest';
import type { SimLocker } from '../../cli/sim-locker.ts';
import { gs1CheckDigit } from '../../devices/index.ts';
import { type TestHub, waitFor } from './hub.ts';

export interface Ordered {
  parcel: { id: string; door: number; state: string };
  depositCode: string;
  pickupCode: string;
}

/** A parcel ordered by the test platform: chilled, size M, at box-1, for Ada, unless `body` says otherwise. */
export async function orderParcel(t: TestHub, body: Record<string, unknown> = {}): Promise<Ordered> {
  const res = await t.api(
    'POST',
    '/api/v1/parcels',
    { lockerId: 'box-1', size: 'M', temperatureClass: 'chilled', recipient: { name: 'Ada' }, ...body },
    t.integration,
  );
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as Ordered;
}

/** Types `code` at the cabinet's keypad; resolves once the hub has released `door`. */
export async function releaseDoor(locker: SimLocker, code: string, door: number): Promise<void> {
  const unlocked = waitFor<[number]>(locker, 'unlocked', (d) => d === door);
  locker.pressCode(code);
  await unlocked;
}

/** Types `code`, and once `door` is released opens and closes it: a deposit, a pickup. */
export async function useCode(locker: SimLocker, code: string, door: number): Promise<void> {
  await releaseDoor(locker, code, door);
  locker.openDoor(door);
  locker.closeDoor(door);
}

/** The `n`th SSCC of the tests' GS1 company prefix, with its check digit. */
export function sscc(n: number): string {
  const body = `3761234567${String(n).padStart(7, '0')}`;
  return `${body}${gs1CheckDigit(body)}`;
}
