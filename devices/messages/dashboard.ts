/**
 * The operator's dashboard (dashboard/src): its headings, buttons, states and alarms' names.
 */
export const en = {} as const;

export const fr: Record<keyof typeof en, string> = {};
