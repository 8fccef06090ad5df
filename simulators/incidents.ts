/**
 * What goes wrong at a real site, now and then, so a newcomer running the demo sees alarms,
 * quarantine and release: a compressor fails for a while (the compartment warms: a warning, then
 * critical, the parcels inside held), or someone forces a door and leaves it open. Each incident
 * ends by itself (the compressor is repaired, the door closed); one at a time.
 */
import type { LockerFront } from './front.ts';
import type { LockerThermals } from './thermal.ts';

export interface IncidentsOptions {
  /** The cabinets and the thermal models behind their sensors, in the same order. */
  lockers: LockerFront[];
  thermals: LockerThermals[];
  /** Time between the end of one incident and the start of the next (ms). */
  everyMs: number;
  /** How long a compressor stays broken (ms): long enough for the critical alarm. */
  compressorMs?: number;
  /** How long a forced door stays open (ms): past the 5 minutes of `door_left_open`. */
  doorMs?: number;
  log: (line: string) => void;
  /** Picks among n choices (tests pass a fixed one). */
  pick?: (n: number) => number;
}

export class Incidents {
  #timer: NodeJS.Timeout | undefined;
  #next = 0;
  #stopped = false;
  /** Undoes the incident under way (repairs, closes), if one is. */
  #undo: (() => void) | undefined;
  readonly #pick: (n: number) => number;

  constructor(private readonly o: IncidentsOptions) {
    this.#pick = o.pick ?? ((n) => Math.floor(Math.random() * n));
  }

  start(): void {
    this.#schedule(this.o.everyMs);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#undo?.();
    this.#undo = undefined;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => this.#begin(), ms);
    this.#timer.unref();
  }

  #begin(): void {
    // Compressor and door in turn, so a demo of a few minutes sees both.
    const kind = this.#next++ % 2 === 0 ? 'compressor' : 'door';
    const i = this.#pick(this.o.lockers.length);
    const locker = this.o.lockers[i] as LockerFront;
    const thermal = this.o.thermals[i] as LockerThermals;
    if (kind === 'compressor') {
      const cold = locker.profile.compartments.filter((c) => c.sensor && c.temperatureClass !== 'ambient');
      const c = cold[this.#pick(cold.length)];
      const model = c?.sensor ? thermal.compartments.get(c.sensor) : undefined;
      if (!c || !model) {
        this.#schedule(this.o.everyMs);
        return;
      }
      // With its door seal leaking too: critical within a quarter of an hour, not an afternoon.
      model.faults.compressorFailed = true;
      model.doorOpen = true;
      this.o.log(
        `incident: the compressor behind ${locker.locker} door ${c.door} (${c.temperatureClass}, sensor ${c.sensor}) failed and its seal leaks: a warning, then critical, and any parcel inside held`,
      );
      this.#undo = () => {
        model.faults.compressorFailed = false;
        model.doorOpen = false;
        this.o.log(`incident over: ${locker.locker} door ${c.door}'s compressor repaired`);
      };
      this.#endAfter(this.o.compressorMs ?? 20 * 60_000);
    } else {
      const doors = locker.profile.compartments;
      const c = doors[this.#pick(doors.length)];
      if (!c) {
        this.#schedule(this.o.everyMs);
        return;
      }
      const door = c.door;
      const model = c.sensor ? thermal.compartments.get(c.sensor) : undefined;
      locker.openDoor(door, { force: true });
      if (model) model.doorOpen = true; // warm air comes in
      this.o.log(
        `incident: ${locker.locker} door ${door} forced open and left so: door_forced at once, door_left_open after 5 minutes`,
      );
      this.#undo = () => {
        locker.closeDoor(door);
        if (model) model.doorOpen = false;
        this.o.log(`incident over: ${locker.locker} door ${door} closed`);
      };
      this.#endAfter(this.o.doorMs ?? 6 * 60_000);
    }
  }

  #endAfter(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#undo?.();
      this.#undo = undefined;
      this.#schedule(this.o.everyMs);
    }, ms);
    this.#timer.unref();
  }
}
