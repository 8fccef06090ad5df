/**
 * An installer's own cabinet: a profile file checked by `casier profiles check`, provisioned with
 * `casier device add --profile ./file.json` (the hub keeps it and draws, allocates and reads the
 * cabinet by it) and given to the bridge the same way.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseProfile } from '../devices/index.ts';
import { startTestHub, type TestHub } from './helpers/hub.ts';
import { casier } from './helpers/process.ts';

let dir: string;
let t: TestHub | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'casier-profiles-'));
});
afterEach(async () => {
  await t?.close();
  t = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** A three-door shed box on the casier board: one chilled door with its probe, two ambient. */
const shed = {
  name: 'shed-box-3',
  description: 'Shed box, 3 doors',
  board: 'casier',
  keypad: true,
  scanner: false,
  sensors: [{ id: 'cold', kind: 'ds18b20', channel: { channel: 0 } }],
  compartments: [
    {
      door: 1,
      size: 'M',
      temperatureClass: 'chilled',
      sensor: 'cold',
      lock: { channel: 0 },
      contact: { channel: 0 },
      layout: { col: 0, row: 0, rows: 2 },
    },
    {
      door: 2,
      size: 'S',
      temperatureClass: 'ambient',
      lock: { channel: 1 },
      contact: { channel: 1 },
      layout: { col: 1, row: 0, rows: 1 },
    },
    {
      door: 3,
      size: 'L',
      temperatureClass: 'ambient',
      lock: { channel: 2 },
      contact: { channel: 2 },
      layout: { col: 1, row: 1, rows: 1 },
    },
  ],
};

const write = (name: string, body: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, typeof body === 'string' ? body : JSON.stringify(body, null, 2));
  return path;
};

describe('a profile file', () => {
  it('is checked against the schema, the consistency rules and what its board can wire', () => {
    expect(parseProfile(JSON.stringify(shed))).toMatchObject({ ok: true, profile: { name: 'shed-box-3' } });
    const firmata = {
      ...shed,
      name: 'gate-box',
      board: 'firmata',
      sensors: [{ id: 'cold', kind: 'ds18b20', channel: { channel: 7 } }],
      compartments: [
        { ...shed.compartments[0], lock: { channel: 1 }, contact: { channel: 6 }, presence: true },
        { ...shed.compartments[1], door: 3, lock: { channel: 6 }, contact: { channel: 7 } },
      ],
    };
    const r = parseProfile(JSON.stringify(firmata));
    expect(r.ok).toBe(false);
    expect(r.ok ? [] : r.problems).toEqual([
      'compartments: doors must be numbered 1..2 without gaps',
      'compartments.1.lock.channel: Arduino pins D2-D13 (D0 and D1 carry the serial line)',
      'compartments.1.presence: a Firmata board reads no item sensor',
      'compartments.3.lock.channel: pin D6 already used by compartments.1.contact.channel',
      'sensors.cold.kind: a Firmata board reads TMP36 sensors only',
      'sensors.cold.channel: analog inputs A0-A5',
    ]);
    expect(parseProfile('{"name": "x",')).toMatchObject({
      ok: false,
      problems: [expect.stringMatching(/^not JSON/)],
    });
    expect(parseProfile(JSON.stringify({ ...shed, name: 'rural-box-8' }))).toMatchObject({
      ok: false,
      problems: ['name: rural-box-8 is a built-in profile; give yours its own name'],
    });
    const kr = {
      ...shed,
      name: 'kr-box',
      board: 'kr-cu16',
      compartments: [{ ...shed.compartments[0], lock: { channel: 16 } }],
    };
    expect(parseProfile(JSON.stringify(kr))).toMatchObject({
      ok: false,
      problems: [
        'compartments.1.lock.channel: a KR-CU16 board has locks 0-15 (lock 1-16)',
        'compartments.1.contact: a KR-CU16 reads the door through its lock: no contact',
      ],
    });
  });

  it('`casier profiles check` prints the doors of a good file and every problem of a bad one', () => {
    const good = casier(['profiles', 'check', write('shed.json', shed)]);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toContain('profile shed-box-3 is valid (casier board)');
    expect(good.stdout).toMatch(/1\s+M\s+chilled\s+cold\s+0:0\s+0:0/);
    const broken = casier([
      'profiles',
      'check',
      write('broken.json', { ...shed, compartments: [{ ...shed.compartments[0], sensor: 'warm' }] }),
    ]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain('compartments.1.sensor: unknown sensor warm');
    expect(casier(['profiles', 'check', join(dir, 'missing.json')]).code).toBe(2);
  });

  it('provisions a cabinet the hub then draws and allocates by', async () => {
    const data = join(dir, 'hub');
    const add = casier([
      'device',
      'add',
      'farm/shed-1',
      '--profile',
      write('shed.json', shed),
      '--data-dir',
      data,
    ]);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toContain('provisioned farm/shed-1 (shed-box-3, 3 compartments)');
    // The same file again for a second cabinet: the same profile; another content under its name: refused.
    expect(
      casier(['device', 'add', 'farm/shed-2', '--profile', join(dir, 'shed.json'), '--data-dir', data]).code,
    ).toBe(0);
    const changed = casier([
      'device',
      'add',
      'farm/shed-3',
      '--profile',
      write('changed.json', { ...shed, description: 'another box' }),
      '--data-dir',
      data,
    ]);
    expect(changed.code).not.toBe(0);
    expect(changed.stderr).toContain('profile shed-box-3 already exists with other content');
    const bad = casier([
      'device',
      'add',
      'farm/shed-4',
      '--profile',
      write('bad.json', { ...shed, keypad: 'yes' }),
      '--data-dir',
      data,
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('keypad: Invalid input');

    // A cabinet refused (it exists already) leaves no profile behind: a corrected file may follow.
    const twice = casier([
      'device',
      'add',
      'farm/shed-1',
      '--profile',
      write('other.json', { ...shed, name: 'other-box' }),
      '--data-dir',
      data,
    ]);
    expect(twice.code).not.toBe(0);
    const again = casier([
      'device',
      'add',
      'farm/shed-5',
      '--profile',
      write('other.json', { ...shed, name: 'other-box', description: 'corrected' }),
      '--data-dir',
      data,
    ]);
    expect(again.code, again.stderr).toBe(0);

    t = await startTestHub({ dataDir: data });
    const locker = (await t.api('GET', '/api/v1/lockers/shed-1')).body;
    expect(locker.compartments.map((c: { door: number; layout: unknown }) => [c.door, c.layout])).toEqual([
      [1, { col: 0, row: 0, rows: 2 }],
      [2, { col: 1, row: 0, rows: 1 }],
      [3, { col: 1, row: 1, rows: 1 }],
    ]);
    const order = await t.api(
      'POST',
      '/api/v1/parcels',
      { lockerId: 'shed-1', size: 'S', temperatureClass: 'ambient', recipient: { name: 'Ada' } },
      t.integration,
    );
    expect(order.status, JSON.stringify(order.body)).toBe(201);
    expect(order.body.parcel.door).toBe(2);
  });

  it('is given to the bridge by path; a bad one stops it with the problems, before it opens the line', () => {
    const r = casier([
      'bridge',
      '--serial',
      join(dir, 'no-such-tty'),
      '--driver',
      'casier',
      '--profile',
      write('bad.json', { ...shed, compartments: [{ ...shed.compartments[0], door: 2 }] }),
      '--mqtt-url',
      'mqtt://127.0.0.1:1',
      '--locker',
      'farm/shed-1',
      '--password',
      'x',
      '--data-dir',
      join(dir, 'bridge'),
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('compartments: doors must be numbered 1..1 without gaps');
    expect(r.stderr).not.toContain('cannot open serial port');
  });
});

describe('a stored profile that no longer reads', () => {
  it('leaves its cabinet drawn without a layout, not failing', async () => {
    const data = join(dir, 'hub');
    expect(
      casier(['device', 'add', 'farm/shed-1', '--profile', write('shed.json', shed), '--data-dir', data])
        .code,
    ).toBe(0);
    const db = new Database(join(data, 'casier.db'));
    db.prepare('UPDATE profiles SET body = \'{"name": "shed-box-3"}\'').run();
    db.close();
    t = await startTestHub({ dataDir: data });
    const res = await t.api('GET', '/api/v1/lockers/shed-1');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.compartments).toHaveLength(3);
  });
});
