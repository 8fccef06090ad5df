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

export function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}
