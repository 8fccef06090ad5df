/**
 * Builds the dashboard into dashboard/dist: one JavaScript and one CSS bundle named by content
 * hash (served as immutable), an index.html naming them (served as no-cache), and gzip and brotli
 * copies the hub sends to browsers that accept them. esbuild does it in well under a second, so
 * `npm run demo` and `npm test` build every time and never serve a stale page.
 *
 *   node --import tsx dashboard/build.ts [--dev]   (--dev: no minification)
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname);
const OUT = join(ROOT, 'dist');

export async function buildDashboard(options: { minify?: boolean } = {}): Promise<string[]> {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(join(OUT, 'assets'), { recursive: true });
  const result = await build({
    entryPoints: [join(ROOT, 'src/main.tsx')],
    bundle: true,
    outdir: join(OUT, 'assets'),
    entryNames: '[name]-[hash]',
    format: 'esm',
    target: ['chrome100', 'firefox100', 'safari15'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: options.minify ?? true,
    sourcemap: 'linked',
    metafile: true,
    legalComments: 'linked',
    logLevel: 'warning',
    tsconfig: join(ROOT, 'tsconfig.json'),
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => resolve(p));
  const js = outputs.find((p) => p.endsWith('.js'));
  const css = outputs.find((p) => p.endsWith('.css'));
  if (!js || !css) throw new Error('the dashboard build produced no script or no stylesheet');
  const html = readFileSync(join(ROOT, 'src/index.html'), 'utf8')
    .replace('%CSS%', `/assets/${basename(css)}`)
    .replace('%JS%', `/assets/${basename(js)}`);
  writeFileSync(join(OUT, 'index.html'), html);
  for (const file of [...outputs.filter((p) => /\.(js|css|txt|map)$/.test(p)), join(OUT, 'index.html')]) {
    const body = readFileSync(file);
    writeFileSync(`${file}.gz`, gzipSync(body, { level: 9 }));
    writeFileSync(
      `${file}.br`,
      brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
    );
  }
  return [join(OUT, 'index.html'), ...outputs];
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const files = await buildDashboard({ minify: !process.argv.includes('--dev') });
  for (const f of files.filter((p) => /\.(html|js|css)$/.test(p)))
    console.log(`dashboard/${f.slice(ROOT.length + 1)}  ${(readFileSync(f).length / 1024).toFixed(1)} KiB`);
}
