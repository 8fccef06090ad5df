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

/** `import … from`, `export … from`, `import 'x'`, `import('x')` and `require('x')`. */
const IMPORT =
  /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]|(?:import|require)\(\s*['"]([^'"]+)['"]\s*\)/gm;

function imports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
}

/**
 * The packages `devices/` may import: it is the contract every part runs, on the Pi and in the
 * browser's types alike, so pure computation only (schemas, HMAC), no file, socket, MQTT or
 * serial port. A new entry here is a design decision, not a convenience.
 */
const DEVICES_PACKAGES = [
  'zod',
  'node:buffer',
  'node:crypto',
  // The message catalogue (devices/i18n.ts) formats ICU messages: pure, the same on the Pi, the hub
  // and in the browser.
  'intl-messageformat',
];

describe('architecture', () => {
  it.each(PARTS)('%s imports only what it may', (part) => {
    const offences: string[] = [];
    for (const file of sources(join(ROOT, part))) {
      for (const spec of imports(file)) {
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

  it('writes the site and locker id pattern once, in devices/topics.ts', () => {
    const copies = ['devices', 'hub', 'firmware-bridge', 'simulators', 'dashboard', 'cli', 'bench']
      .flatMap((d) => sources(join(ROOT, d)))
      .filter((f) => readFileSync(f, 'utf8').includes('[a-z0-9][a-z0-9-]{0,62}'))
      .map((f) => relative(ROOT, f));
    expect(copies).toEqual(['devices/topics.ts']);
  });

  it('logs errors whole, as { err }, so that pino keeps their stack and cause', () => {
    const byMessage = /\berr(or)?: *(\(?\w+( as Error\))?\)?\.message\b|String\()/;
    const offences = ['hub', 'firmware-bridge', 'cli', 'simulators']
      .flatMap((d) => sources(join(ROOT, d)))
      .flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .map((line, i) => ({ line, at: `${relative(ROOT, f)}:${i + 1}` }))
          .filter(
            ({ line }) => /\blog\b|\.(warn|error|info|debug|fatal)\(/.test(line) && byMessage.test(line),
          ),
      )
      .map((o) => `${o.at}: ${o.line.trim()}`);
    expect(offences).toEqual([]);
  });

  it(`lets devices/ import no package but ${DEVICES_PACKAGES.join(', ')}`, () => {
    const found = sources(join(ROOT, 'devices')).flatMap((f) =>
      imports(f)
        .filter((spec) => !spec.startsWith('.'))
        .map((spec) => ({ spec, file: relative(ROOT, f) })),
    );
    // The scan sees the imports that are there (zod in the message schemas), so an empty list of
    // offences means something.
    expect(found.map((i) => i.spec)).toContain('zod');
    const offences = found
      .filter((i) => !DEVICES_PACKAGES.includes(i.spec))
      .map((i) => `${i.file} → ${i.spec}`);
    expect(offences).toEqual([]);
  });
});
