/**
 * Keypads and scanners plugged into the Pi (docs/protocol.md §6): a Linux input device read as a
 * byte stream and decoded into lines, or a serial device that sends lines. A missing device is
 * not fatal: the bridge says so and tries again, so a keypad replugged later works.
 */
import { EventEmitter } from 'node:events';
import { createReadStream, type ReadStream } from 'node:fs';
import { EvdevDecoder, type InputSpec, KeyLineAssembler } from '../devices/index.ts';
import { type Line, openLine } from './line.ts';

const RETRY_MS = 10_000;

/** Emits `line` (kind, text) for each complete entry, and `missing` (kind, path, reason) when it cannot open. */
export class PiInput extends EventEmitter {
  #stream: ReadStream | undefined;
  #line: Line | undefined;
  #retry: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(readonly spec: InputSpec) {
    super();
  }

  start(): void {
    if (this.spec.source === 'evdev') this.#openEvdev();
    else void this.#openLines();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    this.#stream?.destroy();
    await this.#line?.close();
  }

  #openEvdev(): void {
    const decoder = new EvdevDecoder(this.spec.eventSize ?? 24);
    const lines = new KeyLineAssembler();
    const stream = createReadStream(this.spec.path);
    this.#stream = stream;
    stream.on('data', (chunk) => {
      for (const text of lines.push(decoder.push(new Uint8Array(chunk as Buffer))))
        this.emit('line', this.spec.kind, text);
    });
    stream.on('error', (err) => this.#again(err.message));
    stream.on('end', () => this.#again('device closed'));
  }

  async #openLines(): Promise<void> {
    try {
      const line = await openLine(this.spec.path, this.spec.baud ?? 9600);
      this.#line = line;
      let buf = '';
      line.onData((chunk) => {
        buf += Buffer.from(chunk).toString('latin1');
        const parts = buf.split(/\r\n|\r|\n/);
        buf = (parts.pop() ?? '').slice(-512);
        for (const text of parts) if (text) this.emit('line', this.spec.kind, text);
      });
      line.onClose(() => this.#again('device closed'));
    } catch (err) {
      this.#again((err as Error).message);
    }
  }

  #again(reason: string): void {
    if (this.#stopped) return;
    this.emit('missing', this.spec.kind, this.spec.path, reason);
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => this.start(), RETRY_MS);
    this.#retry.unref();
  }
}

/** GS1 and AIM symbology identifiers a scanner may prefix (`]C1` GS1-128, `]d2` GS1 DataMatrix, …). */
export function splitSymbology(text: string): { symbology: string; data: string } {
  const m = /^\](C1|d2|Q3|E0|e0|C0|d1|Q1)/.exec(text);
  const names: Record<string, string> = {
    C1: 'gs1-128',
    d2: 'gs1-datamatrix',
    Q3: 'gs1-qr',
    E0: 'ean-13',
    e0: 'gs1-databar',
    C0: 'code-128',
    d1: 'datamatrix',
    Q1: 'qr',
  };
  return m
    ? { symbology: names[m[1] as string] as string, data: text.slice(3) }
    : { symbology: 'unknown', data: text };
}
