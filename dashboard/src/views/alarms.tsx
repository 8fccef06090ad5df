/** Alarms, filtered by site, kind and state; acknowledged here with a comment. */
import { useEffect, useState } from 'preact/hooks';
import type { AlarmView } from '../../../devices/live.ts';
import { type AlarmList, type ApiError, api } from '../api.ts';
import { ALARM_LABELS, alarmLabel, alarmPlace, dateTime, time } from '../format.ts';
import { href, useApi, useLive } from '../hooks.ts';
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
      <h1 id="alarms-title">Alarms</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Site
          <select value={site} onChange={(e) => setFilter('site', e.currentTarget.value)}>
            <option value="">All sites</option>
            {live.sites.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Kind
          <select value={kind} onChange={(e) => setFilter('kind', e.currentTarget.value)}>
            <option value="">All kinds</option>
            {Object.entries(ALARM_LABELS).map(([k, label]) => (
              <option key={k} value={k}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Show
          <select
            value={state}
            onChange={(e) => setFilter('state', e.currentTarget.value === 'all' ? 'all' : '')}
          >
            <option value="open">Open (raised or acknowledged)</option>
            <option value="all">All, cleared included</option>
          </select>
        </label>
      </form>
      <ErrorLine error={list.error} />
      {!list.data ? (
        <Loading what="alarms" />
      ) : list.data.alarms.length === 0 ? (
        <p class="ok-line">No alarm matches.</p>
      ) : (
        <table class="table alarms-table">
          <thead>
            <tr>
              <th scope="col">Level</th>
              <th scope="col">Alarm</th>
              <th scope="col">Cabinet</th>
              <th scope="col">Raised</th>
              <th scope="col">State</th>
              <th scope="col">
                <span class="sr-only">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {[...list.data.alarms].sort(alarmOrder).map((a) => (
              <tr key={a.id} data-alarm={a.id} data-state={a.state} class={`row-${a.level}`}>
                <td>
                  <Badge kind={a.level}>{a.level}</Badge>
                </td>
                <td>
                  <strong>{alarmLabel(a.kind)}</strong>
                  <br />
                  <span class="small">{alarmPlace(a)}</span>
                  {typeof a.details.advice === 'string' && <span class="small"> — {a.details.advice}</span>}
                </td>
                <td>
                  <a href={href('lockers', a.lockerId)}>{a.lockerId}</a>
                </td>
                <td>
                  {dateTime(a.raisedAt)}
                  {a.since && a.since !== a.raisedAt && (
                    <span class="small muted"> (since {time(a.since)})</span>
                  )}
                </td>
                <td class="ack-cell">
                  {a.state === 'raised' && <Badge kind="raised">not acknowledged</Badge>}
                  {a.acknowledged && (
                    <span>
                      <Badge kind="acked">acknowledged</Badge> by <strong>{a.acknowledged.by}</strong> at{' '}
                      {time(a.acknowledged.at)}: “{a.acknowledged.comment}”
                    </span>
                  )}
                  {a.state === 'cleared' && <span class="muted small"> cleared {dateTime(a.clearedAt)}</span>}
                </td>
                <td>
                  {a.state === 'raised' && (
                    <button type="button" onClick={() => setAcking(a)}>
                      Acknowledge…
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {acking && <AckDialog alarm={acking} onClose={() => setAcking(null)} onDone={list.reload} />}
    </section>
  );
}

function AckDialog(props: { alarm: AlarmView; onClose: () => void; onDone: () => void }) {
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
    <Dialog title={`Acknowledge: ${alarmLabel(a.kind)} at ${a.lockerId}`} onClose={props.onClose}>
      <form onSubmit={submit}>
        <p class="small">
          {a.level} · {alarmPlace(a)} · raised {dateTime(a.raisedAt)}
        </p>
        <label for="ack-comment">What is being done about it?</label>
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
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy || !comment.trim()}>
            Acknowledge
          </button>
        </div>
      </form>
    </Dialog>
  );
}
