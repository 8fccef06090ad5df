/**
 * Nothing deletes data it did not create, and nothing reads a store that is not there: the demo
 * clears only a directory it marked as its own, and the commands that read a store refuse a
 * directory that holds none.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../cli/args.ts';
import { DEMO_MARK, prepareDemoDir } from '../cli/demo.ts';
import { casier } from './helpers/process.ts';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'casier-stores-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('the demo’s store', () => {
  it('is created where there was nothing, and marked', () => {
    const dir = join(root, 'demo');
    prepareDemoDir(dir);
    expect(readdirSync(dir)).toEqual([DEMO_MARK]);
  });

  it('is cleared at the next start when the demo marked it', () => {
    const dir = join(root, 'demo');
    prepareDemoDir(dir);
    writeFileSync(join(dir, 'casier.db'), 'yesterday’s demo');
    mkdirSync(join(dir, 'lockers'));
    prepareDemoDir(dir);
    expect(readdirSync(dir)).toEqual([DEMO_MARK]);
  });

  it('refuses a directory it did not create: a real store, or a parent holding unrelated files', () => {
    const real = join(root, 'real');
    mkdirSync(real);
    writeFileSync(join(real, 'casier.db'), 'a real store');
    writeFileSync(join(real, 'hub.key'), 'its key');
    expect(() => prepareDemoDir(real)).toThrow(UsageError);
    expect(readdirSync(real).sort()).toEqual(['casier.db', 'hub.key']);
    // `--data-dir ..` from a subfolder.
    const sub = join(root, 'sub');
    mkdirSync(sub);
    expect(() => prepareDemoDir(join(sub, '..'))).toThrow(/not a demo store/);
    expect(existsSync(join(real, 'hub.key'))).toBe(true);
  });

  it('is not taken from the hub’s CASIER_DATA_DIR, and a refusal is a usage error (exit 2)', () => {
    const real = join(root, 'real');
    mkdirSync(real);
    writeFileSync(join(real, 'casier.db'), 'a real store');
    const r = casier(['demo', '--data-dir', real, '--http-port', '1', '--mqtt-port', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not a demo store');
    expect(readdirSync(real)).toEqual(['casier.db']);
    expect(casier(['demo', '--help']).stdout).toContain('CASIER_DEMO_DATA_DIR');
  });
});

describe('commands that read a store', () => {
  it.each([
    ['parcels', 'list'],
    ['audit', 'verify'],
    ['backup', '--to', 'copy'],
  ])('`casier %s %s` refuses a directory without one, and creates nothing', (...args) => {
    const missing = join(root, 'mistyped');
    const r = casier([...args.map((a) => (a === 'copy' ? join(root, 'copy') : a)), '--data-dir', missing]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('holds no casier store');
    expect(existsSync(missing)).toBe(false);
    expect(existsSync(join(root, 'copy'))).toBe(false);
  });
});
