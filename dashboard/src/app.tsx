/** The shell: sign-in, the live link's state, navigation, and the view for the current route. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { LANGUAGES, type Language } from '../../devices/i18n.ts';
import { type ApiError, api, session, whenUnauthenticated } from './api.ts';
import { time } from './format.ts';
import { href, StoreContext, useLive, useRoute } from './hooks.ts';
import { chooseLanguage, language, onLanguage, t } from './i18n.ts';
import { LiveStore } from './live.ts';
import { ErrorLine } from './ui.tsx';
import { AlarmsView } from './views/alarms.tsx';
import { LockerPage } from './views/locker.tsx';
import { Overview } from './views/overview.tsx';
import { ParcelView } from './views/parcel.tsx';
import { ParcelsView } from './views/parcels.tsx';

export function App() {
  // A new language renders the whole page again: every text is read from the catalogue then.
  const [, setLanguage] = useState(language());
  useEffect(() => onLanguage(() => setLanguage(language())), []);
  const [token, setToken] = useState(session.token());
  const [notice, setNotice] = useState<string | null>(null);
  const signOut = (why: string | null) => {
    session.signOut();
    setNotice(why);
    setToken(null);
  };
  useEffect(() => whenUnauthenticated(() => signOut(t('dashboard.signin.no_longer'))), []);
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
          ? new Error(t('dashboard.signin.unknown'))
          : e.status === 403
            ? new Error(t('dashboard.signin.not_operator'))
            : e,
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <form onSubmit={submit} aria-labelledby="signin-title">
        <LanguagePicker />
        <h1 id="signin-title">{t('dashboard.signin.title')}</h1>
        {props.notice && <p class="notice">{props.notice}</p>}
        <label for="token">{t('dashboard.signin.token')}</label>
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
          <input type="checkbox" name="remember" /> {t('dashboard.signin.remember')}
        </label>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? t('dashboard.signin.busy') : t('dashboard.signin.submit')}
        </button>
        <ErrorLine error={error} />
        <p class="muted small">
          {t('dashboard.signin.how')} <code>casier token create --role operator</code>
        </p>
      </form>
    </main>
  );
}

function Signed(props: { token: string; onSignOut: (why: string | null) => void }) {
  const store = useMemo(
    () => new LiveStore(() => props.onSignOut(t('dashboard.signin.refused'))),
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
        <nav aria-label={t('dashboard.nav.main')}>
          {nav('', t('dashboard.nav.sites'))}
          {nav(
            'alarms',
            t('dashboard.nav.alarms'),
            open > 0 && (
              <span class="count" title={t('dashboard.nav.not_acked', { n: open })}>
                {open}
              </span>
            ),
          )}
          {nav('parcels', t('dashboard.nav.parcels'))}
        </nav>
        <LinkPill />
        <LanguagePicker />
        <button type="button" class="quiet" onClick={props.onSignOut}>
          {t('dashboard.nav.sign_out')}
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
          <h1>{t('dashboard.not_found.title')}</h1>
          <p>
            {t('dashboard.not_found.text')} <a href={href()}>{t('dashboard.back_to_sites')}</a>
          </p>
        </section>
      );
  }
}

function LinkPill() {
  const live = useLive();
  const label = t(`dashboard.link.${live.link}`);
  return (
    <span class={`pill pill-${live.link}`} data-link={live.link} title={t('dashboard.link.title')}>
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
        {t('dashboard.link.lost', {
          time: time(live.lostAt, Intl.DateTimeFormat().resolvedOptions().timeZone),
        })}
      </div>
    );
  if (resynced)
    return (
      <div class="banner banner-ok" role="status">
        {t('dashboard.link.back')}
      </div>
    );
  return <div class="banner-slot" role="status" />;
}

/** Each language named in itself, so that whoever reads the other one finds theirs. */
const LANGUAGE_NAMES: Record<Language, string> = { fr: 'Français', en: 'English' };

/** The operator's language, remembered on this device (i18n.ts). */
function LanguagePicker() {
  return (
    <select
      class="language"
      aria-label={t('dashboard.nav.language')}
      value={language()}
      onChange={(e) => chooseLanguage(e.currentTarget.value as Language)}
    >
      {LANGUAGES.map((l) => (
        <option key={l} value={l} lang={l}>
          {LANGUAGE_NAMES[l]}
        </option>
      ))}
    </select>
  );
}
