/** Parcel search: by id, SSCC (typed or scanned), reference or recipient. */
import { useEffect, useRef } from 'preact/hooks';
import type { ParcelList } from '../api.ts';
import { dateTime, STATE_LABELS, stateLabel } from '../format.ts';
import { href, useApi, useLive } from '../hooks.ts';
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
      <h1 id="parcels-title">Parcels</h1>
      <form class="filters search" aria-label="Search parcels" onSubmit={submit}>
        <label class="grow">
          Parcel id, SSCC, reference or recipient
          <input
            ref={input}
            name="q"
            type="search"
            defaultValue={q}
            placeholder="P-…, 00…, a name, an email"
          />
        </label>
        <label>
          State
          <select name="state" defaultValue={state}>
            <option value="">Any</option>
            {Object.entries(STATE_LABELS).map(([k, label]) => (
              <option key={k} value={k}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" class="primary">
          Search
        </button>
      </form>
      <ErrorLine error={list.error} />
      {!list.data ? (
        <Loading what="parcels" />
      ) : list.data.parcels.length === 0 ? (
        <p>No parcel matches{q ? ` “${q}”` : ''}.</p>
      ) : (
        <table class="table">
          <thead>
            <tr>
              <th scope="col">Parcel</th>
              <th scope="col">State</th>
              <th scope="col">Where</th>
              <th scope="col">Recipient</th>
              <th scope="col">Created</th>
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
                    {p.lockerId} · door {p.door}
                  </a>
                  <div class="small muted">
                    {p.size} · {p.temperatureClass}
                  </div>
                </td>
                <td>{p.recipient.name}</td>
                <td>{dateTime(p.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
