/**
 * Tokens and drivers from the hub's machine: created limited and expiring, listed without their
 * secret, revoked with a reason kept in the audit trail, and the revocation seen by the store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Commands } from '../hub/domain/commands.ts';
import { Transit } from '../hub/domain/transit.ts';
import { openStore } from '../hub/store.ts';
import { casier } from './helpers/process.ts';

const dir = mkdtempSync(join(tmpdir(), 'casier-cli-access-'));
const d = ['--data-dir', dir];
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ok = (args: string[]) => {
  const r = casier([...args, ...d]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
};

describe('casier token and driver', () => {
  it('creates a limited, expiring token, lists it without its secret, and revokes it', () => {
    ok(['device', 'add', 'ferme/box-1', '--profile', 'rural-box-8']);
    ok(['device', 'add', 'nord/box-2', '--profile', 'rural-box-8']);
    const created = JSON.parse(
      ok([
        'token',
        'create',
        '--role',
        'operator',
        '--name',
        'desk',
        '--sites',
        'ferme',
        '--expires',
        '30d',
        '--json',
      ]),
    ) as { id: string; token: string };
    const listed = JSON.parse(ok(['token', 'list', '--json'])) as Array<Record<string, unknown>>;
    const row = listed.find((t) => t.id === created.id);
    expect(row).toMatchObject({ role: 'operator', sites: ['ferme'], revokedAt: null });
    expect(row?.expiresAt as number).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    expect(JSON.stringify(listed)).not.toContain(created.token);
    expect(ok(['token', 'list'])).toMatch(/desk\s+ferme\s/);

    expect(casier(['token', 'revoke', created.id, ...d]).stderr).toMatch(/--reason is required/);
    expect(ok(['token', 'revoke', created.id, '--reason', 'laptop stolen'])).toMatch(/revoked/);
    const s = openStore(dir);
    expect(s.provisioning.authenticateToken(created.token)).toBeNull();
    s.db.close();
    expect(ok(['token', 'list'])).toMatch(/desk.*revoked/);
  });

  it('refuses a site that does not exist, a bad duration and integration options on other roles', () => {
    expect(casier(['token', 'create', '--role', 'operator', '--sites', 'nowhere', ...d]).stderr).toMatch(
      /no site nowhere/,
    );
    expect(casier(['token', 'create', '--role', 'operator', '--expires', 'soon', ...d]).stderr).toMatch(
      /--expires: a duration/,
    );
    expect(casier(['token', 'create', '--role', 'operator', '--platform', 'x', ...d]).stderr).toMatch(
      /for integration tokens/,
    );
  });

  it('lists drivers and revokes one: their code and their token stop', () => {
    let s = openStore(dir);
    const transit = () => new Transit(s.db, s.ledger, s.codes, new Commands(s.db));
    const yann = transit().createDriver('Yann', 'test', Date.now(), { sites: ['ferme'] });
    const { token } = s.provisioning.createToken('driver', 'Yann', 'test', { subject: yann.id });
    s.db.close();
    expect(ok(['driver', 'list'])).toMatch(new RegExp(`${yann.id}\\s+Yann\\s+ferme\\s+active`));
    expect(ok(['driver', 'round', yann.id, '--sites', 'ferme,nord', '--json']).length).toBeGreaterThan(0);
    expect(ok(['driver', 'list'])).toMatch(new RegExp(`${yann.id}\\s+Yann\\s+ferme,nord\\s`));
    expect(ok(['driver', 'revoke', yann.id, '--reason', 'left the company'])).toMatch(/revoked/);
    s = openStore(dir);
    expect(transit().driverByHash(s.codes.hash(yann.code), 'ferme', Date.now())).toBeUndefined();
    expect(s.provisioning.authenticateToken(token)).toBeNull();
    const revoked = s.db
      .prepare("SELECT data FROM events WHERE type = 'driver.revoked'")
      .pluck()
      .get() as string;
    expect(JSON.parse(revoked)).toEqual({ id: yann.id, reason: 'left the company' });
    s.db.close();
    expect(JSON.parse(ok(['driver', 'list', '--json']))).toContainEqual(
      expect.objectContaining({ id: yann.id, active: false }),
    );
  });
});
