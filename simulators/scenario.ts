/**
 * People at a site: an ordering platform creates parcels over the HTTP API, producers come to
 * deposit them with their code, customers come to collect with theirs, and now and then someone
 * mistypes. Drives cabinets the way people would; used by the demo.
 */
import { TEMPERATURE_CLASSES } from '../devices/index.ts';
import type { LockerFront } from './front.ts';

export interface ScenarioOptions {
  apiUrl: string;
  /** An integration token: the scenario creates parcels as an ordering platform would. */
  token: string;
  lockers: LockerFront[];
  intervalMs: number;
  log: (line: string) => void;
  random?: () => number;
}

interface Visit {
  parcelId: string;
  locker: LockerFront;
  door: number;
  code: string;
  recipient: string;
}

const NAMES = ['Camille', 'Lucas', 'Inès', 'Hugo', 'Léa', 'Nathan', 'Chloé', 'Jules', 'Manon', 'Louis'];
const GOODS = {
  chilled: ['yoghurts', 'goat cheese', 'butter', 'sausages'],
  frozen: ['ice cream', 'duck legs'],
  ambient: ['vegetable crate', 'eggs', 'honey', 'bread'],
};

export class SiteScenario {
  readonly #toDeposit: Visit[] = [];
  readonly #toCollect: Visit[] = [];
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  readonly #random: () => number;
  stats = { created: 0, deposited: 0, collected: 0, rejected: 0 };

  constructor(private readonly opts: ScenarioOptions) {
    this.#random = opts.random ?? Math.random;
  }

  start(): void {
    this.#timer = setInterval(() => {
      if (this.#inFlight) return;
      this.#inFlight = this.step()
        .catch((err: Error) => this.opts.log(`scenario step failed: ${err.message}`))
        .finally(() => {
          this.#inFlight = undefined;
        });
    }, this.opts.intervalMs);
  }

  /** Stops after the visit in progress, if any, has finished. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#inFlight;
  }

  async step(): Promise<void> {
    const r = this.#random();
    if (this.#toCollect.length && (r < 0.35 || this.#toCollect.length > 4)) return this.#collect();
    if (this.#toDeposit.length && (r < 0.7 || this.#toDeposit.length > 3)) return this.#deposit();
    return this.#order();
  }

  #pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.#random() * list.length)] as T;
  }

  async #order(): Promise<void> {
    const locker = this.#pick(this.opts.lockers);
    const classes = TEMPERATURE_CLASSES.filter((c) =>
      locker.profile.compartments.some((x) => x.temperatureClass === c),
    );
    const temperatureClass = this.#pick(classes);
    const recipient = this.#pick(NAMES);
    const res = await fetch(`${this.opts.apiUrl}/api/v1/parcels`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.opts.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        lockerId: locker.locker,
        size: this.#pick(['S', 'M']),
        temperatureClass,
        recipient: { name: recipient },
      }),
    });
    const body = (await res.json()) as {
      parcel?: { id: string; door: number };
      depositCode?: string;
      pickupCode?: string;
      error?: { code: string };
    };
    if (!res.ok || !body.parcel) {
      this.opts.log(
        `${locker.locker.padEnd(9)} platform  no ${temperatureClass} compartment free (${body.error?.code}); waiting for pickups`,
      );
      if (this.#toCollect.length) await this.#collect();
      return;
    }
    this.stats.created++;
    const { parcel } = body;
    const base = { parcelId: parcel.id, locker, door: parcel.door, recipient };
    this.#toDeposit.push({ ...base, code: body.depositCode as string });
    this.#toCollect.push({ ...base, code: body.pickupCode as string });
    this.opts.log(
      `${locker.locker.padEnd(9)} platform  order ${parcel.id}: ${this.#pick(GOODS[temperatureClass])} for ${recipient}, door ${parcel.door} reserved (${temperatureClass})`,
    );
  }

  async #deposit(): Promise<void> {
    const v = this.#toDeposit.shift() as Visit;
    if (await this.#visit(v, 'producer')) this.stats.deposited++;
  }

  async #collect(): Promise<void> {
    const i = this.#toCollect.findIndex((v) => !this.#toDeposit.some((d) => d.parcelId === v.parcelId));
    if (i < 0) return this.#deposit();
    const [v] = this.#toCollect.splice(i, 1) as [Visit];
    if (this.#random() < 0.2) {
      // A customer mistypes first: the keypad refuses, the hub records the failed attempt.
      const wrong = String(
        (Number(v.code) + 1 + Math.floor(this.#random() * 1000)) % 10 ** v.code.length,
      ).padStart(v.code.length, '0');
      v.locker.pressCode(wrong);
      this.stats.rejected++;
      this.opts.log(`${v.locker.locker.padEnd(9)} customer  ${v.recipient} mistypes the code: refused`);
      await sleep(800);
    }
    if (await this.#visit(v, 'customer')) this.stats.collected++;
  }

  /** Types the code, waits for the latch, opens, takes or puts the goods, closes. */
  async #visit(v: Visit, who: 'producer' | 'customer'): Promise<boolean> {
    const name = v.locker.locker.padEnd(9);
    const unlocked = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => done(false), 5000);
      const onUnlock = (door: number) => door === v.door && done(true);
      const done = (ok: boolean) => {
        clearTimeout(timer);
        v.locker.off('unlocked', onUnlock);
        resolve(ok);
      };
      v.locker.on('unlocked', onUnlock);
    });
    v.locker.pressCode(v.code);
    if (!(await unlocked)) {
      this.opts.log(`${name} ${who.padEnd(9)} door ${v.door} did not open for ${v.parcelId}`);
      return false;
    }
    v.locker.openDoor(v.door);
    await sleep(1200);
    v.locker.closeDoor(v.door);
    const what =
      who === 'producer'
        ? `deposits ${v.parcelId} in door ${v.door}`
        : `${v.recipient} collects ${v.parcelId} from door ${v.door}`;
    this.opts.log(`${name} ${who.padEnd(9)} ${what}`);
    return true;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
