/** Output helpers shared by the commands. */

export const out = (s: string) => process.stdout.write(`${s}\n`);
export const json = (v: unknown): number => {
  out(JSON.stringify(v, null, 2));
  return 0;
};

export function table(rows: Record<string, unknown>[], columns: string[]): void {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  out(line(columns));
  for (const r of rows) out(line(columns.map((c) => String(r[c] ?? ''))));
}

/** Help text is laid out for an 80-column terminal. */
export const HELP_WIDTH = 80;

/** Greedy word wrap: lines break at spaces only, a word longer than the width stays whole. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return line ? [...lines, line] : lines;
}

/**
 * Two columns: the left one padded to its longest entry, the right one wrapped under itself.
 * A right column narrower than 30 would wrap every few words, so lines may then run past `width`.
 */
export function columns(rows: Array<[string, string]>, width = HELP_WIDTH, indent = 2, gap = 2): string[] {
  const left = Math.max(0, ...rows.map(([l]) => l.length));
  const margin = ' '.repeat(indent + left + gap);
  return rows.flatMap(([l, r]) => {
    const [first = '', ...rest] = wrap(r, Math.max(30, width - margin.length));
    return [`${' '.repeat(indent)}${l.padEnd(left + gap)}${first}`.trimEnd(), ...rest.map((x) => margin + x)];
  });
}

export function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}
