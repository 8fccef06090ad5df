/** Alarms, filtered by site, kind and state; acknowledged here with a comment. */
import { useEffect, useState } from 'preact/hooks';
import type { AlarmView } from '../../../devices/live.ts';
import { type AlarmList, type ApiError, api } from '../api.ts';
import {
  ALARM_KINDS,
  alarmAdvice,
  alarmLabel,
  alarmPlace,
  dateTime,
  levelLabel,
  time,
  zoneOf,
} from '../format.ts';
import { href, useApi, useLive } from '../hooks.ts';
import { t } from '../i18n.ts';
import { Badge, Dialog, ErrorLine, Loading } from '../ui.tsx';
import { alarmOrder } from './overview.tsx';

export function AlarmsView(props: { query: URLSearchParams }) {
  const live = useLive();
  const site = props.query.get('site') ?? '';
  const kind = props.query.get('kind') ?? '';
  const state = props.query.get('state') === 'all' ? 'all' : 'open';
  const focus = props.query.get('focus');
  const params = new URLSearchParams({ state, limit: '500' });
  if (site) params.set('siteId', site);
  if (kind) params.set('kind', kind);
  // Fetched again whenever the live feed says an alarm changed.
  const list = useApi<AlarmList>(`/api/v1/alarms?${params}`, [live.alarmVersion]);
  const [acking, setAcking] = useState<AlarmView | null>(null);
  useEffect(() => {
    if (!focus || !list.data) return;
    const a = list.data.alarms.find((x) => x.id === focus);
    if (a?.state === 'raised') setAcking(a);
  }, [focus, list.data === undefined]);
  const setFilter = (key: string, value: string) => {
    const q = new URLSearchParams(props.query);
    q.delete('focus');
    if (value) q.set(key, value);
    else q.delete(key);
    location.hash = `#/alarms?${q}`;
  };
  return (
    <section aria-labelledby="alarms-title">
      <h1 id="alarms-title">{t('dashboard.alarms.title')}</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          {t('dashboard.alarms.site')}
          <select value={site} onChange={(e) => setFilter('site', e.currentTarget.value)}>
            <option value="">{t('dashboard.alarms.all_sites')}</option>
            {live.sites.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('dashboard.alarms.kind')}
          <select value={kind} onChange={(e) => setFilter('kind', e.currentTarget.value)}>
            <option value="">{t('dashboard.alarms.all_kinds')}</option>
            {ALARM_KINDS.map((k) => (
              <option key={k} value={k}>
                {alarmLabel(k)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('dashboard.alarms.show')}
          <select
            value={state}
            onChange={(e) => setFilter('state', e.currentTarget.value === 'all' ? 'all' : '')}
          >
            <option value="open">{t('dashboard.alarms.open')}</option>
            <option value="all">{t('dashboard.alarms.all')}</option>
          </select>
        </label>
      </form>
      <ErrorLine error={list.error} />
      {!list.data ? (
        <Loading text={t('dashboard.alarms.loading')} />
      ) : list.data.alarms.length === 0 ? (
        <p class="ok-line">{t('dashboard.alarms.none')}</p>
      ) : (
        <table class="table alarms-table">
          <thead>
            <tr>
              <th scope="col">{t('dashboard.alarms.level')}</th>
              <th scope="col">{t('dashboard.alarms.alarm')}</th>
              <th scope="col">{t('dashboard.alarms.cabinet')}</th>
              <th scope="col">{t('dashboard.alarms.raised')}</th>
              <th scope="col">{t('dashboard.alarms.state')}</th>
              <th scope="col">
                <span class="sr-only">{t('dashboard.alarms.action')}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {[...list.data.alarms].sort(alarmOrder).map((a) => (
              <AlarmRow key={a.id} alarm={a} zone={zoneOf(live, a.lockerId)} onAck={() => setAcking(a)} />
            ))}
          </tbody>
        </table>
      )}
      {acking && (
        <AckDialog
          alarm={acking}
          zone={zoneOf(live, acking.lockerId)}
          onClose={() => setAcking(null)}
          onDone={list.reload}
        />
      )}
    </section>
  );
}

function AlarmRow(props: { alarm: AlarmView; zone: string; onAck: () => void }) {
  const { alarm: a, zone } = props;
  return (
    <tr data-alarm={a.id} data-state={a.state} class={`row-${a.level}`}>
      <td>
        <Badge kind={a.level}>{levelLabel(a.level)}</Badge>
      </td>
      <td>
        <strong>{alarmLabel(a.kind)}</strong>
        <br />
        <span class="small">{alarmPlace(a)}</span>
        {alarmAdvice(a.details, zone) && <span class="small"> — {alarmAdvice(a.details, zone)}</span>}
      </td>
      <td>
        <a href={href('lockers', a.lockerId)}>{a.lockerId}</a>
      </td>
      <td>
        {dateTime(a.raisedAt, zone)}
        {a.since && a.since !== a.raisedAt && (
          <span class="small muted"> {t('dashboard.alarms.since', { time: time(a.since, zone) })}</span>
        )}
      </td>
      <td class="ack-cell">
        {a.state === 'raised' && <Badge kind="raised">{t('dashboard.alarms.not_acked')}</Badge>}
        {a.acknowledged && (
          <span>
            <Badge kind="acked">{t('dashboard.alarms.acked')}</Badge>{' '}
            {t('dashboard.alarms.acked_detail', {
              who: a.acknowledged.by ?? '—',
              time: time(a.acknowledged.at, zone),
              comment: a.acknowledged.comment ?? '',
            })}
          </span>
        )}
        {a.state === 'cleared' && (
          <span class="muted small">
            {' '}
            {t('dashboard.alarms.cleared', { time: dateTime(a.clearedAt, zone) })}
          </span>
        )}
      </td>
      <td>
        {a.state === 'raised' && (
          <button type="button" onClick={props.onAck}>
            {t('dashboard.alarms.acknowledge')}
          </button>
        )}
      </td>
    </tr>
  );
}

function AckDialog(props: { alarm: AlarmView; zone: string; onClose: () => void; onDone: () => void }) {
  const [comment, setComment] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const a = props.alarm;
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      await api('POST', `/api/v1/alarms/${encodeURIComponent(a.id)}/ack`, { comment: comment.trim() });
      props.onDone();
      props.onClose();
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog
      title={t('dashboard.ack.title', { alarm: alarmLabel(a.kind), locker: a.lockerId })}
      onClose={props.onClose}
    >
      <form onSubmit={submit}>
        <p class="small">
          {levelLabel(a.level)} · {alarmPlace(a)} ·{' '}
          {t('dashboard.ack.raised', { time: dateTime(a.raisedAt, props.zone) })}
        </p>
        <label for="ack-comment">{t('dashboard.ack.what')}</label>
        <textarea
          id="ack-comment"
          required
          maxLength={500}
          value={comment}
          onInput={(e) => setComment(e.currentTarget.value)}
        />
        <ErrorLine error={error} />
        <div class="actions">
          <button type="button" onClick={props.onClose}>
            {t('dashboard.cancel')}
          </button>
          <button type="submit" class="primary" disabled={busy || !comment.trim()}>
            {t('dashboard.ack.submit')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
