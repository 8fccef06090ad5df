/** Errors with stable codes; the API's error handler maps them to responses (docs/api.md). */
export const ERRORS = {
  HUB_ERR_VALIDATION: 400,
  HUB_ERR_UNAUTHENTICATED: 401,
  HUB_ERR_FORBIDDEN: 403,
  HUB_ERR_NOT_FOUND: 404,
  HUB_ERR_PARCEL_NOT_FOUND: 404,
  HUB_ERR_LOCKER_NOT_FOUND: 404,
  HUB_ERR_SITE_NOT_FOUND: 404,
  HUB_ERR_COMPARTMENT_NOT_FOUND: 404,
  HUB_ERR_PROFILE_NOT_FOUND: 404,
  HUB_ERR_PROFILE_EXISTS: 409,
  HUB_ERR_CONFLICT: 409,
  HUB_ERR_ALREADY_EXISTS: 409,
  HUB_ERR_NO_COMPARTMENT: 409,
  HUB_ERR_QUOTA: 409,
  HUB_ERR_INVALID_STATE: 409,
  HUB_ERR_LOCKER_OFFLINE: 503,
  HUB_ERR_SUSPENDED: 423,
  HUB_ERR_RATE_LIMITED: 429,
  HUB_ERR_INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class HubError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'HubError';
    this.status = ERRORS[code];
  }
}
