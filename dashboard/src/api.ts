/** The hub's HTTP API as the dashboard uses it: the operator's token, stable error codes. */
import type { CommandView } from '../../devices/api.ts';
import { t } from './i18n.ts';

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
    throw new ApiError(0, 'NETWORK', t('dashboard.network'));
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
  if (!res.ok) throw new ApiError(res.status, `HTTP_${res.status}`, t('dashboard.download_failed'));
  const url = URL.createObjectURL(await res.blob());
  const a = Object.assign(document.createElement('a'), { href: url, download: filename });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// The REST responses the dashboard reads, inferred from the schemas the hub's routes declare and
// are checked against (devices/api.ts); the live feed's views come from the same schemas.
export type {
  AlarmList,
  ClassRules,
  CommandAccepted,
  CommandView,
  Parcel,
  ParcelList,
  ParcelWithTimeline,
  Readings,
  SiteRules,
  TemperatureRecord,
  TimelineEvent,
} from '../../devices/api.ts';

/** A remote opening as the dashboard follows it: the command's first state, then its answers. */
export type CommandStatus = Pick<CommandView, 'id' | 'state' | 'error' | 'doneAt'>;
