/**
 * A first-order thermal model of one compartment, stepped on a virtual clock: heat leaks in
 * through the insulation (and much faster through an open door), a thermostat with hysteresis
 * runs the compressor, goods add thermal mass. Faults on demand: compressor failure, power cut,
 * door ajar. Good enough to make alarms behave as they would on a real cabinet.
 */
export interface ThermalParams {
  /** Thermostat set point and band, °C. */
  setpoint: number;
  band: number;
  /** Outside air, °C. */
  ambient: number;
  /** Heat leak through walls, W/K. */
  ua: number;
  /** Extra leak while the door is open, W/K. */
  doorUa: number;
  /** Cooling power of the compressor, W. */
  coolingW: number;
  /** Heat capacity of the compartment's air and shelves, J/K. */
  capacity: number;
}

export const CHILLED: Readonly<ThermalParams> = Object.freeze({
  setpoint: 2.5,
  band: 2,
  ambient: 22,
  ua: 1.2,
  doorUa: 25,
  coolingW: 60,
  capacity: 12_000,
});
export const FROZEN: Readonly<ThermalParams> = Object.freeze({
  setpoint: -20,
  band: 2,
  ambient: 22,
  ua: 0.8,
  doorUa: 25,
  coolingW: 90,
  capacity: 15_000,
});

export class ThermalCompartment {
  temperature: number;
  compressorOn = false;
  doorOpen = false;
  /** Faults: a dead compressor, no power at all. */
  readonly faults = { compressorFailed: false, powerCut: false };
  /** Goods inside add heat capacity, J/K (about 3,500 J/K per kg of food). */
  goodsCapacity = 0;

  /** This compartment's own parameters (a copy: a scenario that changes its room changes no other). */
  readonly p: ThermalParams;

  constructor(p: Readonly<ThermalParams>) {
    this.p = { ...p };
    this.temperature = p.setpoint;
  }

  /** Advances the model by `seconds`, in steps of at most one second. */
  step(seconds: number): void {
    for (let left = seconds; left > 0; left -= 1) {
      const dt = Math.min(1, left);
      const t = this.temperature;
      if (t > this.p.setpoint + this.p.band / 2) this.compressorOn = true;
      else if (t < this.p.setpoint - this.p.band / 2) this.compressorOn = false;
      const cooling =
        this.compressorOn && !this.faults.compressorFailed && !this.faults.powerCut ? this.p.coolingW : 0;
      const leak = (this.p.ua + (this.doorOpen ? this.p.doorUa : 0)) * (this.p.ambient - t);
      this.temperature = t + ((leak - cooling) * dt) / (this.p.capacity + this.goodsCapacity);
    }
  }
}

/** Ambient compartments follow the room, slowly. */
export const AMBIENT: Readonly<ThermalParams> = Object.freeze({
  setpoint: 40,
  band: 1,
  ambient: 18,
  ua: 2,
  doorUa: 10,
  coolingW: 0,
  capacity: 20_000,
});

/**
 * A temperature probe reading a compartment, with faults on demand: stuck on its last value,
 * silent, noisy (°C of standard deviation), or out of range (−127 °C, a DS18B20 off its wire).
 * Readings have the DS18B20's 1/16 °C resolution.
 */
export class SimSensor {
  readonly faults = { stuck: false, silent: false, noisy: 0, outOfRange: false };
  #last: number | null = null;

  read(trueC: number): number | null {
    if (this.faults.silent) return null;
    if (this.faults.outOfRange) return -127;
    if (this.faults.stuck && this.#last !== null) return this.#last;
    const noise = this.faults.noisy ? gaussian() * this.faults.noisy : 0;
    this.#last = Math.round((trueC + noise) * 16) / 16;
    return this.#last;
  }
}

function gaussian(): number {
  const u = 1 - Math.random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random());
}

/** Every sensor of a cabinet profile with the compartment it watches, for scenarios and the demo. */
export class LockerThermals {
  readonly compartments = new Map<string, ThermalCompartment>();
  readonly sensors = new Map<string, SimSensor>();

  constructor(profile: { compartments: Array<{ sensor?: string; temperatureClass: string }> }) {
    for (const c of profile.compartments) {
      if (!c.sensor || this.compartments.has(c.sensor)) continue;
      const p =
        c.temperatureClass === 'chilled' ? CHILLED : c.temperatureClass === 'frozen' ? FROZEN : AMBIENT;
      const model = new ThermalCompartment({ ...p });
      // Each compartment starts somewhere in its band, so they do not all read alike.
      model.temperature =
        (c.temperatureClass === 'ambient' ? p.ambient : p.setpoint) + (Math.random() - 0.5) * p.band;
      this.compartments.set(c.sensor, model);
      this.sensors.set(c.sensor, new SimSensor());
    }
  }

  /** Advances every model and returns what the sensors read (silent ones say nothing). */
  tick(seconds: number): Array<{ sensor: string; c: number }> {
    const out: Array<{ sensor: string; c: number }> = [];
    for (const [id, model] of this.compartments) {
      model.step(seconds);
      const c = this.sensors.get(id)?.read(model.temperature);
      if (c !== null && c !== undefined) out.push({ sensor: id, c });
    }
    return out;
  }
}
