/**
 * What the hub writes to a customer (e-mail and SMS, hub/domain/notify): the parcel is ready, the window ends soon, it ended, it was sent elsewhere. An SMS is one text: keep those under 160 characters once filled in.
 */
export const en = {} as const;

export const fr: Record<keyof typeof en, string> = {};
