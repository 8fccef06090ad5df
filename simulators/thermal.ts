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

export const CHILLED: ThermalParams = {
  setpoint: 2.5,
  band: 2,
  ambient: 22,
  ua: 1.2,
  doorUa: 25,
  coolingW: 60,
  capacity: 12_000,
};
export const FROZEN: ThermalParams = {
  setpoint: -20,
  band: 2,
  ambient: 22,
  ua: 0.8,
  doorUa: 25,
  coolingW: 90,
  capacity: 15_000,
};

export class ThermalCompartment {
  temperature: number;
  compressorOn = false;
  doorOpen = false;
  /** Faults: a dead compressor, no power at all. */
  readonly faults = { compressorFailed: false, powerCut: false };
  /** Goods inside add heat capacity, J/K (about 3,500 J/K per kg of food). */
  goodsCapacity = 0;

  constructor(readonly p: ThermalParams) {
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
