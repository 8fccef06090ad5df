/**
 * What every board driver offers the bridge, whatever the hardware: doors by profile number,
 * sensors by profile id. Drivers map them to their channels.
 */
import type { EventEmitter } from 'node:events';

export interface SelftestRow {
  part: string;
  channel: string;
  result: 'ok' | 'no answer' | 'failed';
  detail: string;
}

/**
 * Events: `door` (door, open), `closedAtStart` (door: its first reading found it closed, which is
 * no event), `presence` (door, present), `keypad` (code), `scan` (data,
 * symbology), `temperatures` (readings: {sensor, c}[]), `power` (mains, batteryV), `lockReleased` (door), `fault` (code,
 * detail), `board` (hello detail, on connection or reboot of the board), `lineDrops` (bytes).
 */
export interface BoardDriver extends EventEmitter {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Releases one door's latch; rejects if the board did not confirm it. */
  unlock(door: number): Promise<void>;
  display(text: string): void;
  beep(pattern: 'ok' | 'error'): void;
  /** Pulses each lock and reads each contact and sensor. */
  selftest(): Promise<SelftestRow[]>;
}

export class DriverError extends Error {
  constructor(
    readonly code: 'timeout' | 'refused' | 'no_such_door' | 'link_failed',
    message: string,
  ) {
    super(message);
  }
}
