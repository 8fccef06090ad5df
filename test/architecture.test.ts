import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const PARTS = ['devices', 'hub', 'firmware-bridge', 'simulators', 'dashboard'] as const;
/** Which of our parts each part may import. */
const ALLOWED: Record<(typeof PARTS)[number], string[]> = {
  devices: [],
  hub: ['devices'],
  'firmware-bridge': ['devices'],
  simulators: ['devices'],
  dashboard: ['devices'],
};

function sources(dir: string): string[] {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sources(p);
    return /\.(ts|tsx|js)$/.test(e.name) ? [p] : [];
  });
}

const IMPORT = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

describe('architecture', () => {
  it.each(PARTS)('%s imports only what it may', (part) => {
    const offences: string[] = [];
    for (const file of sources(join(ROOT, part))) {
      for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
        const spec = m[1] ?? m[2] ?? '';
        if (!spec.startsWith('.')) continue;
        const target = relative(ROOT, resolve(file, '..', spec)).split('/')[0] as string;
        if (target !== part && !ALLOWED[part].includes(target))
          offences.push(`${relative(ROOT, file)} → ${spec}`);
      }
    }
    expect(offences).toEqual([]);
  });

  // Every state has one owner (STYLE.md, habit 12): nobody else writes its rows.
  it.each<[string, RegExp, string[]]>([
    // A parcel is created by Parcels, and changes state only through the transition table.
    ['parcel states', /UPDATE\s+parcels\s+SET[^`'"]*\bstate\s*=/i, ['hub/domain/parcel-states.ts']],
    ['parcels', /INSERT\s+INTO\s+parcels\b|DELETE\s+FROM\s+parcels\b/i, ['hub/domain/parcels.ts']],
    [
      'compartments',
      /UPDATE\s+compartments\b|INSERT\s+INTO\s+compartments\b|DELETE\s+FROM\s+compartments\b/i,
      ['hub/domain/compartments.ts', 'hub/domain/provisioning.ts'],
    ],
    ['codes', /UPDATE\s+codes\b|INSERT\s+INTO\s+codes\b|DELETE\s+FROM\s+codes\b/i, ['hub/domain/codes.ts']],
  ])('lets only its owner write %s', (_what, write, owners) => {
    const offences = sources(join(ROOT, 'hub'))
      .map((f) => relative(ROOT, f))
      .filter((f) => f !== 'hub/db/migrations.ts' && !owners.includes(f))
      .filter((f) => write.test(readFileSync(join(ROOT, f), 'utf8')));
    expect(offences).toEqual([]);
  });

  it('keeps SQL writes out of the HTTP routes: they call domain methods', () => {
    const offences = sources(join(ROOT, 'hub/api'))
      .filter((f) => /\b(UPDATE\s+\w+\s+SET|INSERT\s+INTO|DELETE\s+FROM)\b/i.test(readFileSync(f, 'utf8')))
      .map((f) => relative(ROOT, f));
    expect(offences).toEqual([]);
  });

  it('keeps devices/ free of I/O', () => {
    const io =
      /from\s+['"](node:)?(fs|net|tls|http|https|child_process|dgram|sqlite|better-sqlite3|mqtt|serialport)['"]/;
    const offences = sources(join(ROOT, 'devices')).filter((f) => io.test(readFileSync(f, 'utf8')));
    expect(offences.map((f) => relative(ROOT, f))).toEqual([]);
  });
});
