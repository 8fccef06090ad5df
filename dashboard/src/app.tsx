/** The shell: sign-in, the live link's state, navigation, and the view for the current route. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { type ApiError, api, session, whenUnauthenticated } from './api.ts';
import { time } from './format.ts';
import { href, StoreContext, useLive, useRoute } from './hooks.ts';
import { LiveStore } from './live.ts';
import { ErrorLine } from './ui.tsx';
import { AlarmsView } from './views/alarms.tsx';
import { LockerPage } from './views/locker.tsx';
import { Overview } from './views/overview.tsx';
import { ParcelView } from './views/parcel.tsx';
import { ParcelsView } from './views/parcels.tsx';

export function App() {
  const [token, setToken] = useState(session.token());
  const [notice, setNotice] = useState<string | null>(null);
  const signOut = (why: string | null) => {
    session.signOut();
    setNotice(why);
    setToken(null);
  };
  useEffect(() => whenUnauthenticated(() => signOut('Your token is no longer accepted: sign in again.')), []);
  if (!token)
    return (
      <SignIn
        notice={notice}
        onSignedIn={(t) => {
          setNotice(null);
          setToken(t);
        }}
      />
    );
  return <Signed token={token} onSignOut={signOut} />;
}

function SignIn(props: { notice: string | null; onSignedIn: (token: string) => void }) {
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const token = String(form.get('token') ?? '').trim();
    setBusy(true);
    setError(null);
    try {
      // Any operator-only route tells whether the token is an operator's.
      await api('GET', '/api/v1/alarms?limit=1', undefined, token);
      session.signIn(token, form.get('remember') === 'on');
      props.onSignedIn(token);
    } catch (err) {
      const e = err as ApiError;
      setError(
        e.status === 401
          ? new Error('This token is unknown or revoked.')
          : e.status === 403
            ? new Error('This token is not an operator token.')
            : e,
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <form onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">casier operations</h1>
        {props.notice && <p class="notice">{props.notice}</p>}
        <label for="token">Operator token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="current-password"
          required
          minLength={10}
          placeholder="casier_…"
        />
        <label class="check">
          <input type="checkbox" name="remember" /> Stay signed in on this device
        </label>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <ErrorLine error={error} />
        <p class="muted small">
          An operator creates tokens with <code>casier token create --role operator</code>.
        </p>
      </form>
    </main>
  );
}

function Signed(props: { token: string; onSignOut: (why: string | null) => void }) {
  const store = useMemo(
    () => new LiveStore(() => props.onSignOut('The hub refused this token: sign in again.')),
    [props.token],
  );
  useEffect(() => {
    store.connect(props.token);
    return () => store.close();
  }, [store]);
  return (
    <StoreContext.Provider value={store}>
      <Shell onSignOut={() => props.onSignOut(null)} />
    </StoreContext.Provider>
  );
}

function Shell(props: { onSignOut: () => void }) {
  const route = useRoute();
  const live = useLive();
  const open = [...live.alarms.values()].filter((a) => a.state === 'raised').length;
  const section = route.path[0] ?? '';
  const nav = (to: string, label: string, extra?: preact.ComponentChildren) => (
    <a href={`#/${to}`} aria-current={section === to ? 'page' : undefined}>
      {label}
      {extra}
    </a>
  );
  return (
    <>
      <header class="top">
        <a class="brand" href="#/">
          casier
        </a>
        <nav aria-label="Main">
          {nav('', 'Sites')}
          {nav(
            'alarms',
            'Alarms',
            open > 0 && (
              <span class="count" title={`${open} not acknowledged`}>
                {open}
              </span>
            ),
          )}
          {nav('parcels', 'Parcels')}
        </nav>
        <LinkPill />
        <button type="button" class="quiet" onClick={props.onSignOut}>
          Sign out
        </button>
      </header>
      <LinkBanner />
      <main id="main">
        <Page path={route.path} query={route.query} />
      </main>
    </>
  );
}

function Page(props: { path: string[]; query: URLSearchParams }) {
  const [section, id, door] = props.path;
  switch (section) {
    case undefined:
      return <Overview />;
    case 'lockers':
      return id ? <LockerPage id={id} door={door ? Number(door) : null} /> : <Overview />;
    case 'alarms':
      return <AlarmsView query={props.query} />;
    case 'parcels':
      return id ? <ParcelView id={id} /> : <ParcelsView query={props.query} />;
    default:
      return (
        <section>
          <h1>Not found</h1>
          <p>
            There is no page here. <a href={href()}>Back to the sites</a>.
          </p>
        </section>
      );
  }
}

function LinkPill() {
  const live = useLive();
  const label = {
    connecting: 'Connecting…',
    live: 'Live',
    reconnecting: 'Reconnecting…',
    refused: 'Refused',
  }[live.link];
  return (
    <span class={`pill pill-${live.link}`} data-link={live.link} title="State of the live link to the hub">
      {label}
    </span>
  );
}

/** Says when what is on screen may be out of date, and when it has caught up again. */
function LinkBanner() {
  const live = useLive();
  const [resynced, setResynced] = useState(false);
  useEffect(() => {
    if (live.link !== 'live' || live.snapshots < 2) return;
    setResynced(true);
    const t = setTimeout(() => setResynced(false), 5000);
    return () => clearTimeout(t);
  }, [live.snapshots, live.link]);
  if (live.link === 'reconnecting')
    return (
      <div class="banner banner-warn" role="status">
        Live link lost at {time(live.lostAt)}: reconnecting. What you see may be out of date.
      </div>
    );
  if (resynced)
    return (
      <div class="banner banner-ok" role="status">
        Live again: the page was brought up to date.
      </div>
    );
  return <div class="banner-slot" role="status" />;
}
