/**
 * The remote-open budget's shape and defaults, apart from hub/domain/remote-opens.ts so that the
 * command line can name them without loading the store.
 */
export interface RemoteOpenBudget {
  perTokenPerMinute: number;
  perTokenPerDay: number;
  perSitePerMinute: number;
  perSitePerDay: number;
}

/** A handful a minute, a few dozen a day: what a support desk does, far from emptying a site. */
export const DEFAULT_REMOTE_OPEN_BUDGET: RemoteOpenBudget = Object.freeze({
  perTokenPerMinute: 5,
  perTokenPerDay: 30,
  perSitePerMinute: 10,
  perSitePerDay: 60,
});

/** Its parts, as `casier hub --remote-open-budget name=value,…` names them. */
export const REMOTE_OPEN_BUDGET_KEYS = Object.keys(DEFAULT_REMOTE_OPEN_BUDGET) as Array<
  keyof RemoteOpenBudget
>;
