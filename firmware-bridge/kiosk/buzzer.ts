/**
 * A buzzer on one of the Pi's GPIO lines, for cabinets whose lock board has none: driven with
 * libgpiod's `gpioset` (Debian package `gpiod`, version 1 on bookworm), so the bridge needs no
 * native module and no root. Each pulse sets the line for its length, then sets it low again: a
 * line released by `gpioset` may keep its last value.
 */
import { execFile } from 'node:child_process';

const PULSES = { ok: [150], error: [120, 120, 120] } as const;
const GAP_MS = 100;

export interface BuzzerSpec {
  /** The GPIO chip, `gpiochip0` on a Raspberry Pi. */
  chip: string;
  /** The line offset on that chip (the BCM GPIO number on a Pi). */
  line: number;
}

export class GpioBuzzer {
  #queue: Promise<void> = Promise.resolve();

  constructor(
    readonly spec: BuzzerSpec,
    private readonly opts: { command?: string; onError?: (err: Error) => void } = {},
  ) {}

  /** Sounds `pattern`; beeps asked for while one sounds follow it. Never throws. */
  beep(pattern: 'ok' | 'error'): Promise<void> {
    this.#queue = this.#queue.then(async () => {
      for (const ms of PULSES[pattern]) {
        await this.#set(1, ms);
        await this.#set(0);
        await new Promise((r) => setTimeout(r, GAP_MS));
      }
    });
    return this.#queue;
  }

  #set(value: 0 | 1, forMs?: number): Promise<void> {
    const args = forMs
      ? ['--mode=time', `--usec=${forMs * 1000}`, this.spec.chip, `${this.spec.line}=${value}`]
      : [this.spec.chip, `${this.spec.line}=${value}`];
    return new Promise((resolve) =>
      execFile(this.opts.command ?? 'gpioset', args, { timeout: 5000 }, (err) => {
        if (err) this.opts.onError?.(err);
        resolve();
      }),
    );
  }
}

/** `gpiochip0:18` → the chip and line. */
export function parseBuzzer(s: string): BuzzerSpec | undefined {
  const m = /^(gpiochip\d+):(\d{1,3})$/.exec(s);
  return m ? { chip: m[1] as string, line: Number(m[2]) } : undefined;
}
