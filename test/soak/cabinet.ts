/**
 * One cabinet under soak: a casier board simulated in this process on one end of a socat
 * pseudo-terminal pair, the real `casier bridge` process on the other, and the people at it:
 * producers typing deposit codes, customers typing pickup codes, someone forcing a door, a
 * customer trying a code already used. Everything physical is written down as it happens (which
 * doors opened and closed, which typed code was followed by its door unlocking, what goods went
 * in and out), to be held against the hub's store at the end.
 */
import { join } from 'node:path';
import type { LockerProfile } from '../../devices/index.ts';
import { CasierBoardSim } from '../../simulators/boards/casier-board.ts';
import { type BridgeProcess, spawnBridge } from '../helpers/bridge.ts';
import { type PtyPair, ptyPair } from '../helpers/pty.ts';
import { api } from './hub.ts';
import { type Rng, sleep } from './rng.ts';

export interface SoakParcel {
  id: string;
  reference: string;
  door: number;
  depositCode: string;
  pickupCode: string;
  createdAt: number;
  /** When the platform saw it `stored` (and told the customer). */
  storedSeenAt?: number;
  /** The goods went in: the deposit code unlocked the door, which opened and closed. */
  deposited: boolean;
  pickedUp: boolean;
}

export interface Typing {
  at: number;
  /** Since when the code should open its door: the parcel's creation, or its deposit seen. */
  validSince: number;
  kind: 'deposit' | 'pickup' | 'probe';
  parcelId: string;
  door: number;
  /** The code's door unlocked while the person waited. */
  unlocked: boolean;
}

export interface Unlock {
  at: number;
  door: number;
  /** Someone was at this door: typing its code, or in front of it until it closed. */
  attended: boolean;
}

export interface BridgeStop {
  ms: number;
  code: number | null;
  signal: string | null;
}

export interface Boot {
  bootId: string;
  process: BridgeProcess;
  /** How long its SIGTERM took. */
  stop?: BridgeStop;
  /** From its "bridge stopped" log line: events journalled in this boot, still unacknowledged then. */
  counters?: { events: number; outbox: number };
}

export interface World {
  httpPort: number;
  integration: string;
  operator: string;
  /** True once no new visit may start. */
  stopping(): boolean;
}

/** How long a person waits at the keypad for the door to unlock before walking away. */
const PATIENCE_MS = 10_000;
/** A probe (a used code tried again) needs no such patience: an unlock would come at once. */
const PROBE_PATIENCE_MS = 4000;

export class Cabinet {
  pty: PtyPair | undefined;
  board: CasierBoardSim | undefined;
  bridge: BridgeProcess | undefined;
  /** Every run of the bridge on this cabinet, in order: its boot id, what it said when it stopped. */
  readonly boots: Boot[] = [];
  readonly bridgeDir: string;
  readonly doorOpen = new Map<number, boolean>();
  /** Every change of every door's contact, in order. */
  readonly doorHistory = new Map<number, Array<'door.opened' | 'door.closed'>>();
  /** What each compartment physically holds: a parcel's goods, or nothing. */
  readonly goods = new Map<number, string | null>();
  readonly parcels: SoakParcel[] = [];
  /** References of parcels whose creation got no answer: created or not, nobody knows their codes. */
  readonly uncertain: string[] = [];
  /**
   * Parcels created without their answer reaching the platform, found afterwards by reference and
   * cancelled (as a platform would): nobody ever knew their codes.
   */
  readonly orphans: Array<{ id: string; reference: string; cancelled: boolean }> = [];
  readonly typings: Typing[] = [];
  readonly unlocks: Unlock[] = [];
  readonly stats = {
    created: 0,
    noCompartment: 0,
    createUnanswered: 0,
    deposits: 0,
    pickups: 0,
    walkedAway: 0,
    forced: 0,
    probes: 0,
    samples: 0,
    /** A released door that would not open when pulled (the latch fell back first). */
    latchMissed: 0,
  };
  /** The door someone at the cabinet is dealing with now (typing its code, in front of it). */
  #presentAt: number | undefined;
  #paused = false;
  #idle = true;
  #lastTypingUnlocked = true;
  #nextRef = 1;

  constructor(
    readonly site: string,
    readonly locker: string,
    readonly profile: LockerProfile,
    readonly password: string,
    runDir: string,
    private readonly rng: Rng,
  ) {
    this.bridgeDir = join(runDir, `bridge-${locker}`);
    for (const c of profile.compartments) {
      this.doorOpen.set(c.door, false);
      this.doorHistory.set(c.door, []);
      this.goods.set(c.door, null);
    }
  }

  get key(): string {
    return `${this.site}/${this.locker}`;
  }

  /** The board on its end of a new line, then the bridge process on the other. */
  async start(mqttUrl: string): Promise<void> {
    this.pty = await ptyPair();
    this.board = new CasierBoardSim({ path: this.pty.board, profile: this.profile });
    this.board.on('unlocked', (door: number) =>
      this.unlocks.push({ at: Date.now(), door, attended: this.#presentAt === door }),
    );
    await this.board.start();
    await this.startBridge(mqttUrl);
  }

  /** A bridge process for a new boot, on the same line and store as the ones before it. */
  async startBridge(mqttUrl: string): Promise<void> {
    const pty = this.pty as PtyPair;
    const bridge = spawnBridge([
      ...['--serial', pty.bridge, '--driver', 'casier', '--profile', this.profile.name],
      ...['--mqtt-url', mqttUrl, '--locker', this.key, '--password', this.password],
      ...['--data-dir', this.bridgeDir],
    ]);
    this.bridge = bridge;
    const deadline = Date.now() + 20_000;
    for (;;) {
      const m = /"bootId":"([0-9a-f]+)"[^\n]*"bridge started"/.exec(bridge.output());
      if (m) {
        this.boots.push({ bootId: m[1] as string, process: bridge });
        return;
      }
      if (bridge.child.exitCode !== null || Date.now() > deadline)
        throw new Error(`the bridge of ${this.key} did not start:\n${bridge.output().slice(-2000)}`);
      await sleep(50);
    }
  }

  /** Stops the running bridge with SIGTERM and times it (SIGKILL after 5 s); reads its own account. */
  async stopBridge(): Promise<BridgeStop> {
    const bridge = this.bridge as BridgeProcess;
    const boot = this.boots.at(-1) as Boot;
    const t0 = performance.now();
    await bridge.kill('SIGTERM');
    boot.stop = {
      ms: Math.round(performance.now() - t0),
      code: bridge.child.exitCode,
      signal: bridge.child.signalCode,
    };
    const line = bridge
      .output()
      .split('\n')
      .find((l) => l.includes('"bridge stopped"'));
    if (line) {
      const log = JSON.parse(line) as { events: number; outbox: number };
      boot.counters = { events: log.events, outbox: log.outbox };
    }
    return boot.stop;
  }

  /** The people finish what they are doing (every door shut behind them) and wait. */
  async pause(): Promise<void> {
    this.#paused = true;
    while (!this.#idle) await sleep(20);
  }

  resume(): void {
    this.#paused = false;
  }

  /** Everything this process started for the cabinet, stopped by PID; each step runs. */
  async close(): Promise<void> {
    await Promise.allSettled([this.bridge?.kill('SIGKILL')]);
    await Promise.allSettled([this.board?.stop()]);
    await Promise.allSettled([this.pty?.close()]);
  }

  /** People at the cabinet, one at a time, until the world stops. */
  async people(world: World): Promise<void> {
    while (!world.stopping()) {
      if (this.#paused) {
        this.#idle = true;
        await sleep(20);
        continue;
      }
      this.#idle = false;
      const r = this.rng.next();
      if (r < 0.22) await this.#create(world);
      else if (r < 0.5) await this.#deposit();
      else if (r < 0.75) await this.#pickup(world);
      else if (r < 0.83) await this.#force();
      else if (r < 0.9) await this.#probe();
      else this.#sample();
      this.#presentAt = undefined;
      await sleep(this.rng.between(100, 600));
    }
    this.#idle = true;
  }

  /** A door with no parcel of ours in flight, closed: someone forces it, now or at the end. */
  freeDoors(): number[] {
    const busy = new Set(this.parcels.filter((p) => !p.pickedUp).map((p) => p.door));
    return [...this.doorOpen.keys()].filter((d) => !busy.has(d) && !this.doorOpen.get(d));
  }

  /** Forces a free door open and leaves it open (the end of the run: "open behind an open door"). */
  leaveOpen(): number | undefined {
    const door = this.rng.pick(this.freeDoors());
    if (door === undefined) return undefined;
    this.#open(door, true);
    return door;
  }

  async #create(world: World): Promise<void> {
    if (this.uncertain.length) await this.#resolveUncertain(world);
    const inFlight = this.parcels.filter((p) => !p.pickedUp).length + this.uncertain.length;
    if (inFlight >= this.profile.compartments.length) return;
    const r = this.rng.next();
    const [temperatureClass, size] =
      r < 0.5 ? ['chilled', 'M'] : r < 0.75 ? ['frozen', 'M'] : ['ambient', 'L'];
    const reference = `soak-${this.locker}-${this.#nextRef++}`;
    const res = await api(world.httpPort, world.integration, 'POST', '/api/v1/parcels', {
      lockerId: this.locker,
      size,
      temperatureClass,
      recipient: { name: `Client ${reference}` },
      reference,
    });
    if (!res) {
      // The hub died during the call: the parcel may have been created, its codes never seen.
      this.uncertain.push(reference);
      this.stats.createUnanswered++;
      return;
    }
    if (res.status === 409) {
      this.stats.noCompartment++;
      return;
    }
    if (res.status !== 201) throw new Error(`creating a parcel: ${res.status} ${JSON.stringify(res.body)}`);
    const { parcel, depositCode, pickupCode } = res.body;
    this.parcels.push({
      id: parcel.id,
      reference,
      door: parcel.door,
      depositCode,
      pickupCode,
      createdAt: Date.now(),
      deposited: false,
      pickedUp: false,
    });
    this.stats.created++;
  }

  /** Looks up parcels created without an answer; cancels those that exist. */
  async #resolveUncertain(world: World): Promise<void> {
    for (const reference of [...this.uncertain]) {
      const found = await api(
        world.httpPort,
        world.integration,
        'GET',
        `/api/v1/parcels?reference=${encodeURIComponent(reference)}`,
      );
      if (found?.status !== 200) return; // the hub is down again: later
      const parcel = found.body.parcels[0];
      if (parcel) {
        if (parcel.state !== 'cancelled') {
          const cancelled = await api(
            world.httpPort,
            world.integration,
            'POST',
            `/api/v1/parcels/${parcel.id}/cancel`,
            { reason: 'the order never got its answer' },
          );
          if (cancelled?.status !== 200) return; // asked again next time
        }
        this.orphans.push({ id: parcel.id, reference, cancelled: true });
      }
      this.uncertain.splice(this.uncertain.indexOf(reference), 1);
    }
  }

  async #deposit(): Promise<void> {
    // The producer comes a little after the order: the code has reached the cabinet's table.
    const p = this.rng.pick(this.parcels.filter((x) => !x.deposited && Date.now() - x.createdAt > 1000));
    if (!p) return;
    if (!(await this.#visit(p.depositCode, 'deposit', p, PATIENCE_MS))) return;
    if (!(await this.#goIn(p.door))) return;
    this.goods.set(p.door, p.id);
    p.deposited = true;
    this.stats.deposits++;
    await sleep(this.rng.between(200, 900));
    this.#close(p.door);
  }

  async #pickup(world: World): Promise<void> {
    const p = this.rng.pick(this.parcels.filter((x) => x.deposited && !x.pickedUp));
    if (!p) return;
    // The customer comes once told the parcel is there (the platform's webhook, here a query).
    const res = await api(world.httpPort, world.operator, 'GET', `/api/v1/parcels/${p.id}`);
    if (res?.body?.state !== 'stored') return;
    p.storedSeenAt ??= Date.now();
    if (!(await this.#visit(p.pickupCode, 'pickup', p, PATIENCE_MS))) return;
    if (!(await this.#goIn(p.door))) return;
    this.goods.set(p.door, null);
    p.pickedUp = true;
    this.stats.pickups++;
    await sleep(this.rng.between(200, 900));
    this.#close(p.door);
  }

  /** Someone forces a door holding none of our parcels in flight, then shuts it. */
  async #force(): Promise<void> {
    const door = this.rng.pick(this.freeDoors());
    if (door === undefined) return;
    this.#open(door, true);
    this.stats.forced++;
    await sleep(this.rng.between(200, 1500));
    this.#close(door);
  }

  /**
   * A code already used is typed again at a door no other parcel of ours is using: it must open
   * nothing. Never two refusals in a row, so that the keypad brake never locks the others out.
   */
  async #probe(): Promise<void> {
    if (!this.#lastTypingUnlocked) return;
    const free = new Set(this.freeDoors());
    const used = this.parcels.filter((p) => p.deposited && free.has(p.door));
    const p = this.rng.pick(used);
    if (!p) return;
    const code = p.pickedUp && this.rng.next() < 0.7 ? p.pickupCode : p.depositCode;
    this.stats.probes++;
    await this.#visit(code, 'probe', p, PROBE_PATIENCE_MS);
  }

  /** A sensor's reading moves a little, within its class. */
  #sample(): void {
    const sensor = this.rng.pick(this.profile.sensors);
    if (!sensor) return;
    const cls = this.profile.compartments.find((c) => c.sensor === sensor.id)?.temperatureClass;
    const base = cls === 'frozen' ? -19 : cls === 'chilled' ? 2.5 : 18;
    this.board?.sample([{ channel: sensor.channel.channel, c: base + this.rng.between(-0.8, 0.8) }]);
    this.stats.samples++;
  }

  /** Types `code` and waits for `p`'s door to unlock; true if it did. */
  async #visit(code: string, kind: Typing['kind'], p: SoakParcel, patience: number): Promise<boolean> {
    const board = this.board as CasierBoardSim;
    const door = p.door;
    const validSince = kind === 'pickup' ? (p.storedSeenAt as number) : p.createdAt;
    const typing: Typing = { at: Date.now(), validSince, kind, parcelId: p.id, door, unlocked: false };
    this.typings.push(typing);
    this.#presentAt = door;
    const unlocked = await new Promise<boolean>((resolve) => {
      const onUnlock = (d: number) => {
        if (d !== door) return;
        clearTimeout(timer);
        board.off('unlocked', onUnlock);
        resolve(true);
      };
      const timer = setTimeout(() => {
        board.off('unlocked', onUnlock);
        resolve(false);
      }, patience);
      board.on('unlocked', onUnlock);
      board.typeCode(code);
    });
    typing.unlocked = unlocked;
    this.#lastTypingUnlocked = unlocked;
    if (!unlocked && kind !== 'probe') this.stats.walkedAway++;
    return unlocked;
  }

  /** The person pulls the released door open. */
  async #goIn(door: number): Promise<boolean> {
    await sleep(this.rng.between(100, 500));
    if (!this.#open(door, false)) {
      this.stats.latchMissed++;
      return false;
    }
    return true;
  }

  #open(door: number, force: boolean): boolean {
    if (this.doorOpen.get(door)) return true;
    if (!this.board?.openDoor(door, { force })) return false;
    this.doorOpen.set(door, true);
    this.doorHistory.get(door)?.push('door.opened');
    return true;
  }

  #close(door: number): void {
    if (!this.doorOpen.get(door)) return;
    this.board?.closeDoor(door);
    this.doorOpen.set(door, false);
    this.doorHistory.get(door)?.push('door.closed');
  }
}
