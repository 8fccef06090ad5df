/** One parcel: its state, custody chain, timeline and temperature record; quarantine decisions. */
import { useEffect, useState } from 'preact/hooks';
import {
  type ApiError,
  api,
  download,
  type Parcel,
  type ParcelWithTimeline,
  type TemperatureRecord,
  type TimelineEvent,
} from '../api.ts';
import { actorLabel, celsius, dateTime, eventLabel, stateLabel, time } from '../format.ts';
import { href, useApi, useStore } from '../hooks.ts';
import { Badge, ErrorLine, Loading, ReasonDialog } from '../ui.tsx';
import { RecordChart } from './chart.tsx';

/** The events where the goods changed hands or place, and who or what held them after. */
const CUSTODY: Record<string, (e: TimelineEvent) => string> = {
  'parcel.reserved': () => 'Order created; door reserved',
  'parcel.stored': (e) => `In ${e.lockerId}, door ${e.door}`,
  'parcel.in_transit': (e) => `With ${actorLabel(e.actor, e.data)}`,
  'parcel.ready': (e) => `In ${e.lockerId}, door ${e.door}, ready for pickup`,
  'parcel.picked_up': () => 'Collected by the recipient',
  'parcel.returned': () => 'Taken back out of the locker',
  'parcel.retrieved_by_producer': () => 'Taken back by the producer',
  'parcel.discarded': () => 'Discarded',
};

export function ParcelView(props: { id: string }) {
  const store = useStore();
  const path = `/api/v1/parcels/${encodeURIComponent(props.id)}`;
  const [version, setVersion] = useState(0);
  // Any new event about this parcel refreshes the page.
  useEffect(
    () => store.onEvents((events) => events.some((e) => e.parcelId === props.id) && setVersion((v) => v + 1)),
    [store, props.id],
  );
  const parcel = useApi<ParcelWithTimeline>(path, [version]);
  const record = useApi<TemperatureRecord>(`${path}/temperature`, [version]);
  const [deciding, setDeciding] = useState<'release' | 'discard' | null>(null);
  if (parcel.error && !parcel.data)
    return (
      <section>
        <h1>Parcel {props.id}</h1>
        <ErrorLine error={parcel.error} />
        <a href="#/parcels">Back to the search</a>
      </section>
    );
  if (!parcel.data) return <Loading what="the parcel" />;
  const p = parcel.data;
  const custody = p.timeline.filter((e) => CUSTODY[e.type]);
  return (
    <>
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href="#/parcels">Parcels</a> › <span aria-current="page">{p.id}</span>
      </nav>
      <h1>
        {p.id} <Badge kind={`state-${p.state}`}>{stateLabel(p.state)}</Badge>
      </h1>
      {p.state === 'quarantined' && (
        <div class="banner banner-alarm" role="alert">
          Held for temperature: its pickup code opens nothing until an operator releases it.
          <div class="actions">
            <button type="button" class="primary" onClick={() => setDeciding('release')}>
              Release…
            </button>
            <button type="button" class="danger" onClick={() => setDeciding('discard')}>
              Discard…
            </button>
          </div>
        </div>
      )}
      <div class="columns">
        <section aria-labelledby="facts-title">
          <h2 id="facts-title">Parcel</h2>
          <dl class="facts">
            <dt>Locker</dt>
            <dd>
              <a href={href('lockers', p.lockerId, p.door)}>
                {p.lockerId}, door {p.door}
              </a>
            </dd>
            <dt>Size, class</dt>
            <dd>
              {p.size}, {p.temperatureClass}
            </dd>
            <dt>Recipient</dt>
            <dd>
              {p.recipient.name}
              {p.recipient.email && ` · ${p.recipient.email}`}
              {p.recipient.phone && ` · ${p.recipient.phone}`}
            </dd>
            {p.sscc && (
              <>
                <dt>SSCC</dt>
                <dd>{p.sscc}</dd>
              </>
            )}
            {p.reference && (
              <>
                <dt>Reference</dt>
                <dd>{p.reference}</dd>
              </>
            )}
            {p.destination && (
              <>
                <dt>Destination</dt>
                <dd>{p.destination.lockerId ?? p.destination.siteId}</dd>
              </>
            )}
            <dt>Created</dt>
            <dd>{dateTime(p.createdAt)}</dd>
            <dt>Deposit by</dt>
            <dd>{dateTime(p.depositExpiresAt)}</dd>
            <dt>Pickup by</dt>
            <dd>{dateTime(p.pickupExpiresAt)}</dd>
          </dl>
          <h2>Custody</h2>
          <ol class="custody">
            {custody.map((e) => (
              <li key={e.seq}>
                <span class="muted small">{dateTime(e.ts)}</span>{' '}
                {(CUSTODY[e.type] as (e: TimelineEvent) => string)(e)}
              </li>
            ))}
          </ol>
        </section>
        <section aria-labelledby="record-title">
          <h2 id="record-title">Temperature record</h2>
          <Record record={record.data} error={record.error} parcelId={p.id} />
        </section>
      </div>
      <section aria-labelledby="timeline-title">
        <h2 id="timeline-title">Timeline</h2>
        <ol class="timeline">
          {p.timeline.map((e) => (
            <li key={e.seq} data-type={e.type}>
              <time class="muted">{dateTime(e.ts).slice(5)}</time>{' '}
              <strong>{eventLabel(e.type, e.data)}</strong>
              {e.door !== null && ` · door ${e.door}`} · {actorLabel(e.actor, e.data)}
              {typeof e.data.reason === 'string' && <em> — “{e.data.reason}”</em>}
              {typeof e.data.kind === 'string' && e.type.startsWith('code.') && ` (${e.data.kind})`}
            </li>
          ))}
        </ol>
      </section>
      {deciding && (
        <Decide parcel={p} action={deciding} onClose={() => setDeciding(null)} onDone={parcel.reload} />
      )}
    </>
  );
}

const VERDICT_BADGES: Record<TemperatureRecord['verdict'], string> = {
  ok: 'online',
  unknown: 'offline',
  excursion: 'warning',
  breached: 'critical',
};

function Record(props: {
  record: TemperatureRecord | undefined;
  error: ApiError | undefined;
  parcelId: string;
}) {
  const r = props.record;
  const [error, setError] = useState<Error | null>(null);
  if (props.error) return <ErrorLine error={props.error} />;
  if (!r) return <Loading what="the temperature record" />;
  if (r.stays.length === 0) return <p class="muted">Not deposited yet: no record.</p>;
  return (
    <>
      <p>
        <Badge kind={VERDICT_BADGES[r.verdict]}>{r.verdict}</Badge> {r.readings} readings from {time(r.from)}{' '}
        to {time(r.to)}
        {r.minutesUnknown > 0 && `, ${r.minutesUnknown} min not watched (never counted as in range)`}
      </p>
      <ol class="stays">
        {r.stays.map((s) => (
          <li key={`${s.lockerId}-${s.door}-${s.from}`}>
            {s.lockerId} door {s.door}
            {s.sensor ? ` (sensor ${s.sensor})` : ' (no sensor)'}, {time(s.from)} –{' '}
            {s.to === null ? 'now' : time(s.to)}: {s.readings} readings
            {s.min !== null && `, ${celsius(s.min)} to ${celsius(s.max)}`}
            {s.minutesUnknown > 0 && `, ${s.minutesUnknown} min without a reading`}
            {r.legs
              .filter((l) => l.from === s.to)
              .map((l) => (
                <div key={l.from} class="muted">
                  then {l.minutes} min on the road, {l.monitored ? 'monitored' : 'not monitored'}
                </div>
              ))}
          </li>
        ))}
      </ol>
      <dl class="facts">
        <dt>Range</dt>
        <dd>
          {r.range.min === null ? '' : `${r.range.min} – `}
          {r.range.max} °C
        </dd>
        <dt>Min / max</dt>
        <dd>
          {celsius(r.min)} / {celsius(r.max)}
        </dd>
        <dt>Mean</dt>
        <dd>{celsius(r.mean)}</dd>
        <dt>Mean kinetic</dt>
        <dd>{celsius(r.mkt)}</dd>
        <dt>Out of range</dt>
        <dd>{r.minutesOutOfRange} min</dd>
        {r.breach && (
          <>
            <dt>Breach</dt>
            <dd>
              {dateTime(r.breach.at)} ({r.breach.reason})
            </dd>
          </>
        )}
      </dl>
      <RecordChart series={r.series} range={r.range} alarms={r.alarms} />
      <button
        type="button"
        onClick={() =>
          download(
            `/api/v1/parcels/${encodeURIComponent(props.parcelId)}/temperature?format=csv`,
            `${props.parcelId}-temperature.csv`,
          ).catch(setError)
        }
      >
        Download CSV
      </button>
      <ErrorLine error={error} />
    </>
  );
}

function Decide(props: {
  parcel: Parcel;
  action: 'release' | 'discard';
  onClose: () => void;
  onDone: () => void;
}) {
  const release = props.action === 'release';
  return (
    <ReasonDialog
      title={`${release ? 'Release' : 'Discard'} ${props.parcel.id}`}
      id="decide-reason"
      submit={release ? 'Release' : 'Discard'}
      danger={!release}
      send={async (reason) => {
        await api('POST', `/api/v1/parcels/${encodeURIComponent(props.parcel.id)}/${props.action}`, {
          reason,
        });
        props.onDone();
      }}
      onClose={props.onClose}
    >
      {release
        ? 'The pickup code will work again and the customer can collect the goods.'
        : 'The goods will never be collected: the pickup code stops working for good.'}
    </ReasonDialog>
  );
}
