import { describe, expect, it } from 'vitest';
import { findProfile } from '../../devices/index.ts';
import { CHILLED, LockerThermals, SimSensor, ThermalCompartment } from '../../simulators/thermal.ts';

describe('thermal model', () => {
  it('holds a chilled compartment in its band, warms it when the compressor fails', () => {
    const c = new ThermalCompartment({ ...CHILLED });
    const temps: number[] = [];
    for (let m = 0; m < 120; m++) {
      c.step(60);
      temps.push(c.temperature);
    }
    expect(Math.min(...temps.slice(30))).toBeGreaterThan(1);
    expect(Math.max(...temps.slice(30))).toBeLessThan(4);
    c.faults.compressorFailed = true;
    for (let m = 0; m < 60; m++) c.step(60);
    expect(c.temperature).toBeGreaterThan(8);
  });

  it('keeps its own parameters: a scenario that changes one room changes no other', () => {
    // scenario.test.ts holds a fridge at +5 °C by lowering its room; that once lowered CHILLED's
    // room for every compartment made after it, in that file and in any file run after it.
    const held = new ThermalCompartment(CHILLED);
    held.p.ambient = 5;
    expect(CHILLED.ambient).toBe(22);
    expect(new ThermalCompartment(CHILLED).p.ambient).toBe(22);
  });

  it('gives each sensor of a profile its model, and sensor faults on demand', () => {
    const cab = new LockerThermals(findProfile('rural-box-8') as never);
    expect([...cab.compartments.keys()].sort()).toEqual(['t-amb', 't1', 't2', 't3', 't4', 't5', 't6']);
    const r = cab.tick(60);
    expect(r.find((x) => x.sensor === 't5')?.c).toBeLessThan(-15);
    const s = new SimSensor();
    expect(s.read(3.3)).toBe(3.3125); // 1/16 °C steps
    s.faults.stuck = true;
    expect(s.read(9)).toBe(3.3125);
    s.faults.outOfRange = true;
    expect(s.read(3)).toBe(-127);
    s.faults.silent = true;
    expect(s.read(3)).toBeNull();
  });
});
