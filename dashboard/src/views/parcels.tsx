/** Parcel search: by id, SSCC (typed or scanned), reference or recipient. */
import { useEffect, useRef } from 'preact/hooks';
import type { ParcelList } from '../api.ts';
import { classLabel, dateTime, PARCEL_STATES, stateLabel, zoneOf } from '../format.ts';
import { href, useApi, useLive } from '../hooks.ts';
import { t } from '../i18n.ts';
import { Badge, ErrorLine, Loading } from '../ui.tsx';

export function ParcelsView(props: { query: URLSearchParams }) {
  const live = useLive();
  const q = props.query.get('q') ?? '';
  const state = props.query.get('state') ?? '';
  const params = new URLSearchParams({ limit: '50' });
  if (q) params.set('q', q);
  if (state) params.set('state', state);
  // The list follows the ledger: fetched again when an event about a parcel arrives.
  const lastParcelEvent = live.events.find((e) => e.parcelId !== null)?.seq ?? 0;
  const list = useApi<ParcelList>(`/api/v1/parcels?${params}`, [lastParcelEvent]);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  const submit = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const next = new URLSearchParams();
    const term = String(form.get('q') ?? '').trim();
    if (term) next.set('q', term);
    if (form.get('state')) next.set('state', String(form.get('state')));
    location.hash = `#/parcels?${next}`;
  };
  return (
    <section aria-labelledby="parcels-title">
      <h1 id="parcels-title">{t('dashboard.parcels.title')}</h1>
      <form class="filters search" aria-label={t('dashboard.parcels.search')} onSubmit={submit}>
        <label class="grow">
          {t('dashboard.parcels.query')}
          <input
            ref={input}
            name="q"
            type="search"
            defaultValue={q}
            placeholder={t('dashboard.parcels.placeholder')}
          />
        </label>
        <label>
          {t('dashboard.parcels.state')}
          <select name="state" defaultValue={state}>
            <option value="">{t('dashboard.parcels.any')}</option>
            {PARCEL_STATES.map((k) => (
              <option key={k} value={k}>
                {stateLabel(k)}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" class="primary">
          {t('dashboard.parcels.submit')}
        </button>
      </form>
      <ErrorLine error={list.error} />
      {!list.data ? (
        <Loading text={t('dashboard.parcels.loading')} />
      ) : list.data.parcels.length === 0 ? (
        <p>{q ? t('dashboard.parcels.none_for', { q }) : t('dashboard.parcels.none')}</p>
      ) : (
        <table class="table">
          <thead>
            <tr>
              <th scope="col">{t('dashboard.parcels.parcel')}</th>
              <th scope="col">{t('dashboard.parcels.state')}</th>
              <th scope="col">{t('dashboard.parcels.where')}</th>
              <th scope="col">{t('dashboard.parcels.recipient')}</th>
              <th scope="col">{t('dashboard.parcels.created')}</th>
            </tr>
          </thead>
          <tbody>
            {list.data.parcels.map((p) => (
              <tr key={p.id} data-parcel={p.id}>
                <td>
                  <a href={href('parcels', p.id)}>{p.id}</a>
                  {p.sscc && <div class="small muted">SSCC {p.sscc}</div>}
                </td>
                <td>
                  <Badge kind={`state-${p.state}`}>{stateLabel(p.state)}</Badge>
                </td>
                <td>
                  <a href={href('lockers', p.lockerId, p.door)}>
                    {t('dashboard.parcels.at_door', { locker: p.lockerId, door: p.door })}
                  </a>
                  <div class="small muted">
                    {p.size} · {classLabel(p.temperatureClass)}
                  </div>
                </td>
                <td>{p.recipient.name}</td>
                <td>{dateTime(p.createdAt, zoneOf(live, p.lockerId))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
