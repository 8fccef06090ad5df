/**
 * The customer's parcel page (hub/customer-page), reached by the link in their notices: where and how to collect, the window, the code on request, the journey's temperatures.
 */
export const en = {} as const;

export const fr: Record<keyof typeof en, string> = {};
