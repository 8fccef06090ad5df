/** Small hooks: the live store, the hash route, data fetched from the API. */
import { createContext } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import { type ApiError, api } from './api.ts';
import type { LiveState, LiveStore } from './live.ts';

export const StoreContext = createContext<LiveStore | null>(null);

export function useStore(): LiveStore {
  const store = useContext(StoreContext);
  if (!store) throw new Error('no live store');
  return store;
}

/** The live state; the component renders again when it changes. */
export function useLive(): LiveState {
  const store = useStore();
  const [state, setState] = useState(store.state);
  useEffect(() => {
    setState(store.state);
    return store.subscribe(() => setState(store.state));
  }, [store]);
  return state;
}

export interface Route {
  path: string[];
  query: URLSearchParams;
}

const parseHash = (): Route => {
  const [path = '', query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  return { path: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query) };
};

export function useRoute(): Route {
  const [route, setRoute] = useState(parseHash);
  useEffect(() => {
    const f = () => setRoute(parseHash());
    addEventListener('hashchange', f);
    return () => removeEventListener('hashchange', f);
  }, []);
  return route;
}

export const href = (...parts: Array<string | number>) =>
  `#/${parts.map((p) => encodeURIComponent(String(p))).join('/')}`;

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
}

/** GETs `path` (null: nothing to fetch), again when `path` or any of `deps` changes or on reload(). */
export function useApi<T>(path: string | null, deps: unknown[] = []): Loaded<T> {
  const [n, setN] = useState(0);
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({ loading: true });
  useEffect(() => {
    if (path === null) return;
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    api<T>('GET', path).then(
      (data) => live && setState({ data, loading: false }),
      (error: ApiError) => live && setState((s) => ({ ...s, error, loading: false })),
    );
    return () => {
      live = false;
    };
  }, [path, n, ...deps]);
  return { ...state, reload: () => setN((x) => x + 1) } as Loaded<T>;
}
