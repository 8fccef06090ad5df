/**
 * Cold-chain thresholds per site and temperature class: the SPEC §5 defaults unless an operator
 * set others for a site (a farm selling raw-milk cheese may want +6 °C, a butcher tighter limits).
 */
import { z } from 'zod';
import { TEMPERATURE_CLASSES, type TemperatureClass } from '../../../devices/index.ts';
import type { Ledger } from '../../db/ledger.ts';
import type { Db } from '../../db/open.ts';
import { HubError } from '../../errors.ts';
import { type ClassRules, DEFAULT_RULES } from './rules.ts';

const MIN = 60_000;
const threshold = z
  .object({
    above: z.number().min(-60).max(60),
    forMinutes: z
      .number()
      .min(0)
      .max(24 * 60),
  })
  .strict();

/** What an operator sends: minutes rather than milliseconds. */
export const classRulesInput = z
  .object({
    keepMin: z.number().min(-60).max(60).nullable(),
    keepMax: z.number().min(-60).max(60),
    warn: threshold,
    critical: threshold.nullable(),
    cumulativeMinutes: z
      .number()
      .min(1)
      .max(24 * 60)
      .nullable(),
  })
  .strict()
  .refine((r) => r.keepMin === null || r.keepMin < r.keepMax, {
    message: 'keepMin must be below keepMax',
    path: ['keepMin'],
  })
  .refine((r) => r.critical === null || r.critical.above >= r.warn.above, {
    message: 'the critical limit cannot be below the warning one',
    path: ['critical'],
  });

export type ClassRulesInput = z.infer<typeof classRulesInput>;

const fromInput = (r: ClassRulesInput): ClassRules => ({
  keepMin: r.keepMin,
  keepMax: r.keepMax,
  warn: { above: r.warn.above, forMs: r.warn.forMinutes * MIN },
  critical: r.critical && { above: r.critical.above, forMs: r.critical.forMinutes * MIN },
  cumulativeMs: r.cumulativeMinutes === null ? null : r.cumulativeMinutes * MIN,
});

export const toInput = (r: ClassRules): ClassRulesInput => ({
  keepMin: r.keepMin,
  keepMax: r.keepMax,
  warn: { above: r.warn.above, forMinutes: r.warn.forMs / MIN },
  critical: r.critical && { above: r.critical.above, forMinutes: r.critical.forMs / MIN },
  cumulativeMinutes: r.cumulativeMs === null ? null : r.cumulativeMs / MIN,
});

export class SiteRules {
  readonly #cache = new Map<string, ClassRules>();
  readonly #siteOf = new Map<string, string>();
  readonly #site;

  constructor(
    private readonly db: Db,
    private readonly ledger: Ledger,
  ) {
    this.#site = db.prepare<[string], string>('SELECT site_id FROM lockers WHERE id = ?').pluck();
  }

  /** The rules for a locker's compartments of one class. */
  forLocker(lockerId: string, cls: TemperatureClass): ClassRules {
    // A locker never changes site: its site is looked up once.
    let site = this.#siteOf.get(lockerId);
    if (site === undefined) {
      site = this.#site.get(lockerId);
      if (site !== undefined) this.#siteOf.set(lockerId, site);
    }
    return site ? this.forSite(site, cls) : DEFAULT_RULES[cls];
  }

  forSite(siteId: string, cls: TemperatureClass): ClassRules {
    const key = `${siteId}|${cls}`;
    let rules = this.#cache.get(key);
    if (!rules) {
      const row = this.db
        .prepare('SELECT rules FROM site_rules WHERE site_id = ? AND temperature_class = ?')
        .pluck()
        .get(siteId, cls) as string | undefined;
      rules = row ? (JSON.parse(row) as ClassRules) : DEFAULT_RULES[cls];
      this.#cache.set(key, rules);
    }
    return rules;
  }

  /** Every class's rules at a site, as an operator writes them. */
  ofSite(siteId: string): Record<TemperatureClass, ClassRulesInput> {
    this.#mustExist(siteId);
    return Object.fromEntries(
      TEMPERATURE_CLASSES.map((cls) => [cls, toInput(this.forSite(siteId, cls))]),
    ) as Record<TemperatureClass, ClassRulesInput>;
  }

  #mustExist(siteId: string): void {
    if (!this.db.prepare('SELECT 1 FROM sites WHERE id = ?').get(siteId))
      throw new HubError('HUB_ERR_SITE_NOT_FOUND', `no site ${siteId}`);
  }

  /** Sets a class's rules at a site; the change and its ledger entry commit together. */
  set(siteId: string, cls: TemperatureClass, input: ClassRulesInput, actor: string, now: number): ClassRules {
    const rules = fromInput(input);
    this.db
      .transaction(() => {
        this.#mustExist(siteId);
        this.db
          .prepare(
            `INSERT INTO site_rules (site_id, temperature_class, rules, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (site_id, temperature_class) DO UPDATE SET rules = excluded.rules, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
          )
          .run(siteId, cls, JSON.stringify(rules), now, actor);
        this.ledger.append({
          ts: now,
          type: 'site.rules_changed',
          actor,
          data: { siteId, temperatureClass: cls, rules: input },
        });
      })
      .immediate();
    this.#cache.delete(`${siteId}|${cls}`);
    return rules;
  }
}
