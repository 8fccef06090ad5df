/** The GPIO buzzer, through a stand-in `gpioset` that records how it was called. */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GpioBuzzer, parseBuzzer } from '../../firmware-bridge/kiosk/buzzer.ts';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function fakeGpioset(exitCode = 0) {
  dir = mkdtempSync(join(tmpdir(), 'casier-gpio-'));
  const log = join(dir, 'calls');
  const bin = join(dir, 'gpioset');
  writeFileSync(bin, `#!/bin/sh\necho "$@" >> ${log}\nexit ${exitCode}\n`);
  chmodSync(bin, 0o755);
  return { bin, calls: () => readFileSync(log, 'utf8').trim().split('\n') };
}

describe('the GPIO buzzer', () => {
  it('pulses its line once for ok and three times for an error, low again after each pulse', async () => {
    const { bin, calls } = fakeGpioset();
    const buzzer = new GpioBuzzer({ chip: 'gpiochip0', line: 18 }, { command: bin });
    await buzzer.beep('ok');
    expect(calls()).toEqual(['--mode=time --usec=150000 gpiochip0 18=1', 'gpiochip0 18=0']);
    void buzzer.beep('error');
    await buzzer.beep('ok'); // queued behind the error: the patterns do not mix
    expect(calls().slice(2)).toEqual([
      ...Array.from({ length: 3 }, () => [
        '--mode=time --usec=120000 gpiochip0 18=1',
        'gpiochip0 18=0',
      ]).flat(),
      '--mode=time --usec=150000 gpiochip0 18=1',
      'gpiochip0 18=0',
    ]);
  });

  it('reports a failing gpioset and goes on', async () => {
    const { bin } = fakeGpioset(1);
    const errors: Error[] = [];
    const buzzer = new GpioBuzzer(
      { chip: 'gpiochip0', line: 18 },
      { command: bin, onError: (e) => errors.push(e) },
    );
    await buzzer.beep('ok');
    expect(errors).toHaveLength(2);
  });

  it('is given as <chip>:<line>', () => {
    expect(parseBuzzer('gpiochip0:18')).toEqual({ chip: 'gpiochip0', line: 18 });
    expect(parseBuzzer('18')).toBeUndefined();
    expect(parseBuzzer('gpiochip0:18;reboot')).toBeUndefined();
  });
});
