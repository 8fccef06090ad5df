/**
 * A stolen operator token opened 18,374 doors a minute against the first wave. Remote opens now
 * have a budget per token and per site; past it the open is refused, the site's remote opening
 * suspended for every operator and a critical alarm raised at once; another operator lifts it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../helpers/hub.ts';

let t: TestHub;
let clock: number;
beforeEach(async () => {
  clock = Date.now();
  t = await startTestHub({ now: () => clock });
  await t.locker({ site: 'ferme', locker: 'box-1' }, 'rural-box-8');
});
afterEach(() => t?.close());

const open = (door: number, token = t.operator) =>
  t.api('POST', `/api/v1/lockers/box-1/compartments/${door}/open`, { reason: 'support call' }, token);

describe('remote opens past their budget', () => {
  it('are refused, suspend the site for every operator, raise an alarm, and are lifted by another operator only', async () => {
    for (let door = 1; door <= 5; door++) expect((await open(door)).status, `door ${door}`).toBe(202);
    const sixth = await open(6);
    expect(sixth.status).toBe(429);
    expect(sixth.body.error.message).toMatch(/5 a minute for one token/);
    // The site is suspended now, for this token and any other.
    const second = t.hub.provisioning.createToken('operator', 'second operator', 'test').token;
    expect((await open(7)).status).toBe(423);
    const other = await open(7, second);
    expect(other.status).toBe(423);
    expect(other.body.error.message).toMatch(/another operator lifts it/);
    const alarms = (await t.api('GET', '/api/v1/alarms?state=all')).body.alarms;
    expect(alarms).toContainEqual(expect.objectContaining({ kind: 'remote_open_abuse', level: 'critical' }));
    // The token that tripped it cannot lift it; another can, and is audited.
    const resume = (token: string) =>
      t.api('POST', '/api/v1/sites/ferme/remote-opens/resume', { reason: 'token rotated, checked' }, token);
    expect((await resume(t.operator)).status).toBe(403);
    expect((await resume(second)).status).toBe(200);
    expect((await open(7, second)).status).toBe(202);
    const events = (await t.api('GET', '/api/v1/events?type=site.remote_opens_resumed')).body.events;
    expect(events).toHaveLength(1);
    expect((await resume(second)).status).toBe(409); // nothing suspended any more
  });

  it('count per site too: three operators share the site’s ten a minute', async () => {
    const b = t.hub.provisioning.createToken('operator', 'second operator', 'test').token;
    const c = t.hub.provisioning.createToken('operator', 'third operator', 'test').token;
    for (const door of [1, 2, 3, 4]) expect((await open(door)).status).toBe(202);
    for (const door of [5, 6, 7, 8]) expect((await open(door, b)).status).toBe(202);
    // Each token is within its own five; the site has had eight.
    expect((await open(1, c)).status).toBe(202);
    expect((await open(2, c)).status).toBe(202);
    const eleventh = await open(3, c);
    expect(eleventh.status).toBe(429);
    expect(eleventh.body.error.message).toMatch(/10 a minute at the site/);
  });
});

describe('several doors at once', () => {
  const ask = (doors: number[], token = t.operator) =>
    t.api(
      'POST',
      '/api/v1/lockers/box-1/open-requests',
      { doors, reason: 'cabinet flooded, empty it' },
      token,
    );

  it('open only when a second operator approves, never by the one who asked', async () => {
    const second = t.hub.provisioning.createToken('operator', 'second operator', 'test').token;
    const asked = await ask([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(asked.status, JSON.stringify(asked.body)).toBe(201);
    expect(asked.body).toMatchObject({ state: 'pending', doors: [1, 2, 3, 4, 5, 6, 7, 8] });
    const approve = (token: string) =>
      t.api('POST', `/api/v1/open-requests/${asked.body.id}/approve`, {}, token);
    // The thief's token alone: nothing opens.
    const self = await approve(t.operator);
    expect(self.status).toBe(403);
    expect(t.hub.db.prepare("SELECT count(*) FROM commands WHERE type = 'unlock'").pluck().get()).toBe(0);
    const pending = (await t.api('GET', '/api/v1/open-requests?state=pending', undefined, second)).body
      .requests;
    expect(pending.map((r: { id: string }) => r.id)).toEqual([asked.body.id]);

    const approved = await approve(second);
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body.state).toBe('approved');
    expect(approved.body.commandIds).toHaveLength(8);
    expect(t.hub.db.prepare("SELECT count(*) FROM commands WHERE type = 'unlock'").pluck().get()).toBe(8);
    expect((await approve(second)).status).toBe(409); // once
    const types = (await t.api('GET', '/api/v1/events?type=remote_open.approved')).body.events;
    expect(types).toHaveLength(1);
  });

  it('lapse after 15 minutes, can be rejected, and need at least two doors', async () => {
    const second = t.hub.provisioning.createToken('operator', 'second operator', 'test').token;
    expect((await ask([3])).status).toBe(400);
    const late = (await ask([1, 2])).body;
    clock += 15 * 60_000;
    expect((await t.api('GET', '/api/v1/open-requests?state=expired')).body.requests).toHaveLength(1);
    expect((await t.api('POST', `/api/v1/open-requests/${late.id}/approve`, {}, second)).status).toBe(409);
    const rejected = (await ask([1, 2])).body;
    const r = await t.api(
      'POST',
      `/api/v1/open-requests/${rejected.id}/reject`,
      { reason: 'not agreed' },
      second,
    );
    expect(r.body.state).toBe('rejected');
    expect((await t.api('POST', `/api/v1/open-requests/${rejected.id}/approve`, {}, second)).status).toBe(
      409,
    );
    expect(t.hub.db.prepare("SELECT count(*) FROM commands WHERE type = 'unlock'").pluck().get()).toBe(0);
    expect((await ask([1, 99])).status).toBe(404);
  });
});
