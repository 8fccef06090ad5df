/** The hub's HTTP API as the dashboard uses it: the operator's token, stable error codes. */
import type { AlarmView, LedgerEventView } from '../../devices/live.ts';

const TOKEN_KEY = 'casier.token';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Where the token lives: this tab only, or this device when the operator asked to be remembered. */
export const session = {
  token(): string | null {
    return sessionStorage.getItem(TOKEN_KEY) ?? localStorage.getItem(TOKEN_KEY);
  },
  signIn(token: string, remember: boolean): void {
    this.signOut();
    (remember ? localStorage : sessionStorage).setItem(TOKEN_KEY, token);
  },
  signOut(): void {
    sessionStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(TOKEN_KEY);
  },
};

let onUnauthenticated: () => void = () => {};
export const whenUnauthenticated = (f: () => void) => {
  onUnauthenticated = f;
};

export async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  token = session.token(),
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: {
        authorization: `Bearer ${token ?? ''}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'NETWORK', 'The hub cannot be reached. Check the connection and try again.');
  }
  const type = res.headers.get('content-type') ?? '';
  const payload = type.includes('json') ? await res.json() : await res.text();
  if (!res.ok) {
    const err = (payload as { error?: { code: string; message: string } }).error;
    if (res.status === 401) onUnauthenticated();
    throw new ApiError(res.status, err?.code ?? `HTTP_${res.status}`, err?.message ?? res.statusText);
  }
  return payload as T;
}

/** Fetches a file with the token (a plain link cannot carry it) and hands it to the browser to save. */
export async function download(path: string, filename: string): Promise<void> {
  const res = await fetch(path, { headers: { authorization: `Bearer ${session.token() ?? ''}` } });
  if (!res.ok) throw new ApiError(res.status, `HTTP_${res.status}`, 'The download failed.');
  const url = URL.createObjectURL(await res.blob());
  const a = Object.assign(document.createElement('a'), { href: url, download: filename });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// Shapes of the REST responses the dashboard reads (the live feed's come from devices/live.ts).

export interface Parcel {
  id: string;
  state: string;
  siteId: string;
  lockerId: string;
  door: number;
  size: string;
  temperatureClass: string;
  recipient: { name: string; phone?: string; email?: string };
  sscc: string | null;
  reference: string | null;
  createdAt: number;
  updatedAt: number;
  depositExpiresAt: number;
  storedAt: number | null;
  pickupExpiresAt: number | null;
  pickedUpAt: number | null;
  destination: { lockerId: string | null; siteId: string | null } | null;
  custody: string | null;
  producerId: string | null;
}

/** A parcel's timeline: its ledger events. */
export type TimelineEvent = Omit<LedgerEventView, 'parcelId'>;

export interface TemperatureRecord {
  parcelId: string;
  temperatureClass: string;
  range: { min: number | null; max: number };
  sensor: string | null;
  from: number | null;
  to: number | null;
  readings: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  mkt: number | null;
  minutesOutOfRange: number;
  breach: { at: number; reason: string } | null;
  verdict: string;
  series: Array<{ ts: number; c: number }>;
  alarms: AlarmView[];
}

export interface ClassRules {
  keepMin: number | null;
  keepMax: number;
  warn: { above: number };
  critical: { above: number } | null;
}

export interface CommandStatus {
  id: string;
  state: string;
  error: string | null;
  doneAt: number | null;
}
