/**
 * Remote opens have a budget (docs/security.md §5): per operator token and per site, per minute and
 * per day. A stolen operator token opened 18,374 doors a minute against the first wave; past the
 * budget the request is refused, remote opening is suspended for the whole site, and a critical
 * alarm is raised at once. Another operator lifts the suspension (not the token that tripped it).
 */
import type { Ledger } from '../db/ledger.ts';
import { cached, type Db } from '../db/open.ts';
import { HubError } from '../errors.ts';
import type { Alarms } from './coldchain/alarms.ts';
import { DEFAULT_REMOTE_OPEN_BUDGET, type RemoteOpenBudget } from './remote-open-budget.ts';
import { newId } from './secrets.ts';

export { DEFAULT_REMOTE_OPEN_BUDGET, type RemoteOpenBudget } from './remote-open-budget.ts';

const MINUTE = 60_000;
const DAY = 24 * 3_600_000;
/** How long a request to open several doors waits for a second operator. */
export const BULK_OPEN_TTL_MS = 15 * MINUTE;

export interface BulkOpenView {
  id: string;
  lockerId: string;
  doors: number[];
  reason: string;
  retrieve: boolean;
  requestedBy: string;
  requestedAt: number;
  expiresAt: number;
  state: 'pending' | 'approved' | 'rejected' | 'expired';
  decidedBy: string | null;
  decidedAt: number | null;
}

interface BulkOpenRow {
  id: string;
  locker_id: string;
  doors: string;
  reason: string;
  retrieve: number;
  requested_by: string;
  requested_at: number;
  expires_at: number;
  state: 'pending' | 'approved' | 'rejected';
  decided_by: string | null;
  decided_at: number | null;
}

const bulkView = (r: BulkOpenRow, now: number): BulkOpenView => ({
  id: r.id,
  lockerId: r.locker_id,
  doors: JSON.parse(r.doors) as number[],
  reason: r.reason,
  retrieve: r.retrieve === 1,
  requestedBy: r.requested_by,
  requestedAt: r.requested_at,
  expiresAt: r.expires_at,
  state: r.state === 'pending' && r.expires_at <= now ? 'expired' : r.state,
  decidedBy: r.decided_by,
  decidedAt: r.decided_at,
});

export class RemoteOpens {
  constructor(
    private readonly db: Db,
    private readonly ledger: Ledger,
    private readonly alarms: Alarms,
    private readonly budget: RemoteOpenBudget = DEFAULT_REMOTE_OPEN_BUDGET,
  ) {}

  #site(lockerId: string): string {
    return cached(this.db, 'SELECT site_id FROM lockers WHERE id = ?', 'pluck').get(lockerId) as string;
  }

  /**
   * Checks an open against the suspension and the budget, in its own transaction: a refusal that
   * trips the budget suspends the site and raises the alarm durably, then throws.
   */
  admit(lockerId: string, tokenId: string, now: number): void {
    const site = this.#site(lockerId);
    this.#refuseIfSuspended(site);
    const count = (column: 'token_id' | 'site_id', value: string, since: number) =>
      cached(this.db, `SELECT count(*) FROM remote_opens WHERE ${column} = ? AND at > ?`, 'pluck').get(
        value,
        since,
      ) as number;
    const b = this.budget;
    const over =
      count('token_id', tokenId, now - MINUTE) >= b.perTokenPerMinute
        ? `${b.perTokenPerMinute} a minute for one token`
        : count('token_id', tokenId, now - DAY) >= b.perTokenPerDay
          ? `${b.perTokenPerDay} a day for one token`
          : count('site_id', site, now - MINUTE) >= b.perSitePerMinute
            ? `${b.perSitePerMinute} a minute at the site`
            : count('site_id', site, now - DAY) >= b.perSitePerDay
              ? `${b.perSitePerDay} a day at the site`
              : null;
    if (!over) return;
    this.db
      .transaction(() => {
        this.db
          .prepare(
            'INSERT OR IGNORE INTO remote_open_suspensions (site_id, since, token_id, reason) VALUES (?, ?, ?, ?)',
          )
          .run(site, now, tokenId, over);
        this.alarms.raise({
          lockerId,
          sensor: 'remote-open',
          kind: 'remote_open_abuse',
          level: 'critical',
          at: now,
          details: { site, tokenId, budget: over },
        });
        this.ledger.append({
          ts: now,
          type: 'site.remote_opens_suspended',
          actor: `token:${tokenId}`,
          lockerId,
          data: { site, budget: over },
        });
      })
      .immediate();
    throw new HubError(
      'HUB_ERR_RATE_LIMITED',
      `remote opens are limited to ${over}: refused, and remote opening is suspended at site ${site} until another operator lifts it`,
    );
  }

  #refuseIfSuspended(site: string): void {
    const suspended = cached(
      this.db,
      'SELECT since FROM remote_open_suspensions WHERE site_id = ?',
      'pluck',
    ).get(site) as number | undefined;
    if (suspended !== undefined)
      throw new HubError(
        'HUB_ERR_SUSPENDED',
        `remote opening is suspended at site ${site} since ${new Date(suspended).toISOString()}: another operator lifts it (POST /api/v1/sites/${site}/remote-opens/resume)`,
      );
  }

  /** Counts an open made (inside the transaction that made it). */
  record(lockerId: string, tokenId: string, now: number): void {
    cached(this.db, 'INSERT INTO remote_opens (token_id, site_id, at) VALUES (?, ?, ?)').run(
      tokenId,
      this.#site(lockerId),
      now,
    );
  }

  /** Lifts a site's suspension: by an operator other than the one whose token tripped it. */
  resume(site: string, op: { tokenId: string; reason: string }, now: number): void {
    const row = cached(this.db, 'SELECT token_id FROM remote_open_suspensions WHERE site_id = ?').get(site) as
      | { token_id: string }
      | undefined;
    if (!row) throw new HubError('HUB_ERR_CONFLICT', `remote opening is not suspended at site ${site}`);
    if (row.token_id === op.tokenId)
      throw new HubError(
        'HUB_ERR_FORBIDDEN',
        'the token that tripped the suspension cannot lift it: another operator must (stolen tokens are why it exists)',
      );
    this.db.prepare('DELETE FROM remote_open_suspensions WHERE site_id = ?').run(site);
    for (const l of this.db.prepare('SELECT id FROM lockers WHERE site_id = ?').pluck().all(site) as string[])
      this.alarms.clear(l, 'remote-open', 'remote_open_abuse', 'critical', now);
    this.ledger.append({
      ts: now,
      type: 'site.remote_opens_resumed',
      actor: `token:${op.tokenId}`,
      data: { site, reason: op.reason },
    });
  }

  /**
   * Several doors at once need two people: one operator asks (this), another approves within
   * BULK_OPEN_TTL_MS. A stolen token alone opens no more than its budget of single doors.
   */
  requestBulk(
    lockerId: string,
    op: { tokenId: string; doors: number[]; reason: string; retrieve?: boolean },
    now: number,
  ): BulkOpenView {
    const id = newId('BO');
    const doors = [...new Set(op.doors)].sort((a, b) => a - b);
    cached(
      this.db,
      `INSERT INTO bulk_opens (id, locker_id, doors, reason, retrieve, requested_by, requested_at, expires_at, state)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending')`,
    ).run(
      id,
      lockerId,
      JSON.stringify(doors),
      op.reason,
      op.retrieve ? 1 : 0,
      op.tokenId,
      now,
      now + BULK_OPEN_TTL_MS,
    );
    this.ledger.append({
      ts: now,
      type: 'remote_open.requested',
      actor: `token:${op.tokenId}`,
      lockerId,
      data: { id, doors, reason: op.reason, retrieve: !!op.retrieve, expiresAt: now + BULK_OPEN_TTL_MS },
    });
    return this.bulk(id, now);
  }

  bulk(id: string, now: number): BulkOpenView {
    const row = cached(this.db, 'SELECT * FROM bulk_opens WHERE id = ?').get(id) as BulkOpenRow | undefined;
    if (!row) throw new HubError('HUB_ERR_NOT_FOUND', `no open request ${id}`);
    return bulkView(row, now);
  }

  bulks(now: number, state?: BulkOpenView['state']): BulkOpenView[] {
    const rows = cached(
      this.db,
      'SELECT * FROM bulk_opens ORDER BY requested_at DESC, id DESC LIMIT 200',
    ).all() as BulkOpenRow[];
    return rows.map((r) => bulkView(r, now)).filter((v) => !state || v.state === state);
  }

  /**
   * Approves or rejects a pending request, by an operator other than the one who asked. Inside
   * the caller's transaction, which opens the doors on approval: the site's suspension applies,
   * the per-token budget does not (two people decided).
   */
  decideBulk(
    id: string,
    decision: 'approved' | 'rejected',
    op: { tokenId: string; reason?: string },
    now: number,
  ) {
    const request = this.bulk(id, now);
    if (request.state !== 'pending')
      throw new HubError('HUB_ERR_INVALID_STATE', `open request ${id} is ${request.state}, not pending`);
    if (request.requestedBy === op.tokenId)
      throw new HubError(
        'HUB_ERR_FORBIDDEN',
        'the operator who asked cannot decide: another operator must (a stolen token alone opens no doors at once)',
      );
    if (decision === 'approved') this.#refuseIfSuspended(this.#site(request.lockerId));
    cached(this.db, 'UPDATE bulk_opens SET state = ?, decided_by = ?, decided_at = ? WHERE id = ?').run(
      decision,
      op.tokenId,
      now,
      id,
    );
    this.ledger.append({
      ts: now,
      type: `remote_open.${decision}`,
      actor: `token:${op.tokenId}`,
      lockerId: request.lockerId,
      data: { id, doors: request.doors, requestedBy: request.requestedBy, reason: op.reason ?? null },
    });
    return { ...request, state: decision, decidedBy: op.tokenId, decidedAt: now };
  }
}
