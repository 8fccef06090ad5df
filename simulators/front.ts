/**
 * What people at a cabinet touch: its keypad, its doors, its label scanner, and what its sensors
 * read. The scenarios and journeys of simulated people drive a cabinet through this, whatever
 * stands behind it; in the demo and the tests it is the product's own bridge and driver talking
 * to a simulated board (`cli/sim-locker.ts`).
 *
 * Emits `unlocked` (door) when a latch is released: the door can then be pulled open.
 */
import type { EventEmitter } from 'node:events';
import type { LockerProfile } from '../devices/index.ts';

export interface LockerFront extends EventEmitter {
  /** The cabinet's locker id. */
  readonly locker: string;
  readonly profile: LockerProfile;
  /** Types a code on the keypad and presses enter. */
  pressCode(code: string): void;
  /** Pulls a door: it opens if its latch is released, or if forced; false if it stayed shut. */
  openDoor(door: number, opts?: { force?: boolean }): boolean;
  closeDoor(door: number): void;
  /** Reads a label with the cabinet's scanner (the text as the scanner sends it, `]C1…` for GS1-128). */
  scan(text: string): void;
  /** The sensors read these values now; resolves once the cabinet has reported them. */
  telemetry(readings: Array<{ sensor: string; c: number }>, power?: PowerReading): Promise<void>;
}

export interface PowerReading {
  mains: boolean;
  batteryV?: number;
}

/** Resolves with the door `locker` releases next (optionally a given one), or rejects after `ms`. */
export function nextUnlock(locker: LockerFront, door?: number, ms = 8000): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      locker.off('unlocked', on);
      reject(new Error(`no door opened at ${locker.locker}`));
    }, ms);
    const on = (d: number) => {
      if (door !== undefined && d !== door) return;
      clearTimeout(timer);
      locker.off('unlocked', on);
      resolve(d);
    };
    locker.on('unlocked', on);
  });
}
