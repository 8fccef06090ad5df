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
import {
  actorLabel,
  celsius,
  classLabel,
  dateTime,
  eventLabel,
  named,
  stateLabel,
  time,
  zoneOf,
} from '../format.ts';
import { href, useApi, useLive, useStore } from '../hooks.ts';
import { t } from '../i18n.ts';
import { Badge, ErrorLine, Loading, ReasonDialog } from '../ui.tsx';
import { RecordChart } from './chart.tsx';

const at = (e: TimelineEvent) => ({ locker: e.lockerId ?? '—', door: e.door ?? '—' });

/** The events where the goods changed hands or place, and who or what held them after. */
const CUSTODY: Record<string, (e: TimelineEvent) => string> = {
  'parcel.reserved': () => t('dashboard.custody.reserved'),
  'parcel.stored': (e) => t('dashboard.custody.in', at(e)),
  'parcel.in_transit': (e) => t('dashboard.custody.with', { who: actorLabel(e.actor, e.data) }),
  'parcel.ready': (e) => t('dashboard.custody.ready', at(e)),
  'parcel.picked_up': () => t('dashboard.custody.picked_up'),
  // `returned` is two moves (hub/domain/parcel-states.ts, goodsMoved): a driver bringing the goods
  // back into their origin box, or (with `from`) an operator taking them out of the locker.
  'parcel.returned': (e) =>
    e.data.from === undefined ? t('dashboard.custody.brought_back', at(e)) : t('dashboard.custody.taken_out'),
  'parcel.retrieved_by_producer': () => t('dashboard.custody.retrieved'),
  'parcel.discarded': () => t('dashboard.custody.discarded'),
};

export function ParcelView(props: { id: string }) {
  const store = useStore();
  const live = useLive();
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
        <h1>{t('dashboard.parcel.title', { id: props.id })}</h1>
        <ErrorLine error={parcel.error} />
        <a href="#/parcels">{t('dashboard.parcel.back')}</a>
      </section>
    );
  if (!parcel.data) return <Loading text={t('dashboard.parcel.loading')} />;
  const p = parcel.data;
  const custody = p.timeline.filter((e) => CUSTODY[e.type]);
  // Each moment in the zone of the site it happened at; the parcel's own dates in its locker's.
  const zone = zoneOf(live, p.lockerId);
  const zoneAt = (lockerId: string | null) => zoneOf(live, lockerId ?? p.lockerId);
  return (
    <>
      <nav class="crumbs" aria-label={t('dashboard.cabinet.breadcrumb')}>
        <a href="#/parcels">{t('dashboard.parcels.title')}</a> › <span aria-current="page">{p.id}</span>
      </nav>
      <h1>
        {p.id} <Badge kind={`state-${p.state}`}>{stateLabel(p.state)}</Badge>
      </h1>
      {p.state === 'quarantined' && (
        <div class="banner banner-alarm" role="alert">
          {t('dashboard.parcel.held')}
          <div class="actions">
            <button type="button" class="primary" onClick={() => setDeciding('release')}>
              {t('dashboard.parcel.release')}
            </button>
            <button type="button" class="danger" onClick={() => setDeciding('discard')}>
              {t('dashboard.parcel.discard')}
            </button>
          </div>
        </div>
      )}
      <div class="columns">
        <section aria-labelledby="facts-title">
          <h2 id="facts-title">{t('dashboard.parcel.facts')}</h2>
          <dl class="facts">
            <dt>{t('dashboard.parcel.locker')}</dt>
            <dd>
              <a href={href('lockers', p.lockerId, p.door)}>
                {t('dashboard.parcel.at_door', { locker: p.lockerId, door: p.door })}
              </a>
            </dd>
            <dt>{t('dashboard.parcel.size_class')}</dt>
            <dd>
              {p.size}, {classLabel(p.temperatureClass)}
            </dd>
            <dt>{t('dashboard.parcel.recipient')}</dt>
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
                <dt>{t('dashboard.parcel.reference')}</dt>
                <dd>{p.reference}</dd>
              </>
            )}
            {p.destination && (
              <>
                <dt>{t('dashboard.parcel.destination')}</dt>
                <dd>{p.destination.lockerId ?? p.destination.siteId}</dd>
              </>
            )}
            <dt>{t('dashboard.parcel.created')}</dt>
            <dd>{dateTime(p.createdAt, zone)}</dd>
            <dt>{t('dashboard.parcel.deposit_by')}</dt>
            <dd>{dateTime(p.depositExpiresAt, zone)}</dd>
            <dt>{t('dashboard.parcel.pickup_by')}</dt>
            <dd>{dateTime(p.pickupExpiresAt, zone)}</dd>
          </dl>
          <h2 id="codes-title">{t('dashboard.parcel.codes')}</h2>
          <Codes codes={p.codes} zoneAt={zoneAt} />
          <h2>{t('dashboard.parcel.custody')}</h2>
          <ol class="custody">
            {custody.map((e) => (
              <li key={e.seq} data-type={e.type}>
                <span class="muted small">{dateTime(e.ts, zoneAt(e.lockerId))}</span>{' '}
                {(CUSTODY[e.type] as (e: TimelineEvent) => string)(e)}
              </li>
            ))}
          </ol>
        </section>
        <section aria-labelledby="record-title">
          <h2 id="record-title">{t('dashboard.parcel.record')}</h2>
          <Record record={record.data} error={record.error} parcelId={p.id} zone={zone} />
        </section>
      </div>
      <section aria-labelledby="timeline-title">
        <h2 id="timeline-title">{t('dashboard.parcel.timeline')}</h2>
        <ol class="timeline">
          {p.timeline.map((e) => (
            <li key={e.seq} data-type={e.type} data-seq={e.seq}>
              <time class="muted" dateTime={new Date(e.ts).toISOString()}>
                {dateTime(e.ts, zoneAt(e.lockerId))}
              </time>{' '}
              <strong>{eventLabel(e.type, e.data)}</strong>
              {e.door !== null && ` · ${t('dashboard.parcel.door', { door: e.door })}`} ·{' '}
              {actorLabel(e.actor, e.data)}
              {typeof e.data.reason === 'string' && <em> — “{e.data.reason}”</em>}
              {typeof e.data.kind === 'string' && e.type.startsWith('code.') && ` (${codeKind(e.data.kind)})`}
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

const codeKind = (kind: string) => named('dashboard.code', kind);

/**
 * The state of the parcel's codes, never the codes themselves (the hub keeps only their hashes):
 * which works now, which was used and when, which expired or was revoked.
 */
function Codes(props: { codes: ParcelWithTimeline['codes']; zoneAt: (lockerId: string | null) => string }) {
  if (props.codes.length === 0) return <p class="muted">{t('dashboard.parcel.no_codes')}</p>;
  return (
    <table class="table codes" aria-labelledby="codes-title">
      <thead>
        <tr>
          <th scope="col">{t('dashboard.parcel.code_kind')}</th>
          <th scope="col">{t('dashboard.parcel.code_door')}</th>
          <th scope="col">{t('dashboard.parcel.code_state')}</th>
          <th scope="col">{t('dashboard.parcel.code_when')}</th>
        </tr>
      </thead>
      <tbody>
        {props.codes.map((c, i) => {
          const zone = props.zoneAt(c.lockerId);
          return (
            <tr key={`${c.kind}-${i}`} data-code={c.kind} data-state={c.state}>
              <td>{codeKind(c.kind)}</td>
              <td>{t('dashboard.parcel.at_door', { locker: c.lockerId, door: c.door })}</td>
              <td>
                <Badge kind={`code-${c.state}`}>{t(`dashboard.code.${c.state}`)}</Badge>
              </td>
              <td class="small">
                {[
                  c.notBefore !== null &&
                    t('dashboard.parcel.code_from', { time: dateTime(c.notBefore, zone) }),
                  c.expiresAt !== null &&
                    t('dashboard.parcel.code_until', { time: dateTime(c.expiresAt, zone) }),
                  c.usedAt !== null && t('dashboard.parcel.code_used', { time: dateTime(c.usedAt, zone) }),
                ]
                  .filter(Boolean)
                  .join(' · ')}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
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
  zone: string;
}) {
  const r = props.record;
  const zone = props.zone;
  const [error, setError] = useState<Error | null>(null);
  if (props.error) return <ErrorLine error={props.error} />;
  if (!r) return <Loading text={t('dashboard.record.loading')} />;
  if (r.stays.length === 0) return <p class="muted">{t('dashboard.record.none')}</p>;
  return (
    <>
      <p>
        <Badge kind={VERDICT_BADGES[r.verdict]}>{t(`dashboard.verdict.${r.verdict}`)}</Badge>{' '}
        {t('dashboard.record.summary', {
          readings: r.readings,
          from: time(r.from, zone),
          to: time(r.to, zone),
        })}
        {r.minutesUnknown > 0 && t('dashboard.record.unwatched', { n: r.minutesUnknown })}
      </p>
      <ol class="stays">
        {r.stays.map((s) => (
          <li key={`${s.lockerId}-${s.door}-${s.from}`}>
            {t('dashboard.record.stay', { locker: s.lockerId, door: s.door })}{' '}
            {s.sensor
              ? t('dashboard.record.stay_sensor', { sensor: s.sensor })
              : t('dashboard.record.stay_no_sensor')}
            ,{' '}
            {t('dashboard.record.stay_time', {
              from: time(s.from, zone),
              to: s.to === null ? t('dashboard.record.now') : time(s.to, zone),
              n: s.readings,
            })}
            {s.min !== null &&
              `, ${t('dashboard.record.between', { min: celsius(s.min), max: celsius(s.max) })}`}
            {s.minutesUnknown > 0 && `, ${t('dashboard.record.no_reading', { n: s.minutesUnknown })}`}
            {r.legs
              .filter((l) => l.from === s.to)
              .map((l) => (
                <div key={l.from} class="muted">
                  {t('dashboard.record.leg', { n: l.minutes, monitored: l.monitored ? 'yes' : 'no' })}
                </div>
              ))}
          </li>
        ))}
      </ol>
      <dl class="facts">
        <dt>{t('dashboard.record.range')}</dt>
        <dd>
          {r.range.min === null ? '' : `${r.range.min} – `}
          {r.range.max} °C
        </dd>
        <dt>{t('dashboard.record.min_max')}</dt>
        <dd>
          {celsius(r.min)} / {celsius(r.max)}
        </dd>
        <dt>{t('dashboard.record.mean')}</dt>
        <dd>{celsius(r.mean)}</dd>
        <dt>{t('dashboard.record.mkt')}</dt>
        <dd>{celsius(r.mkt)}</dd>
        <dt>{t('dashboard.record.out_of_range')}</dt>
        <dd>{t('dashboard.minutes', { n: r.minutesOutOfRange })}</dd>
        {r.breach && (
          <>
            <dt>{t('dashboard.record.breach')}</dt>
            <dd>
              {dateTime(r.breach.at, zone)} ({r.breach.reason})
            </dd>
          </>
        )}
      </dl>
      <RecordChart series={r.series} range={r.range} alarms={r.alarms} zone={zone} />
      <button
        type="button"
        onClick={() =>
          download(
            `/api/v1/parcels/${encodeURIComponent(props.parcelId)}/temperature?format=csv`,
            `${props.parcelId}-temperature.csv`,
          ).catch(setError)
        }
      >
        {t('dashboard.record.csv')}
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
      title={t(release ? 'dashboard.decide.release_title' : 'dashboard.decide.discard_title', {
        id: props.parcel.id,
      })}
      id="decide-reason"
      submit={t(release ? 'dashboard.decide.release' : 'dashboard.decide.discard')}
      danger={!release}
      send={async (reason) => {
        await api('POST', `/api/v1/parcels/${encodeURIComponent(props.parcel.id)}/${props.action}`, {
          reason,
        });
        props.onDone();
      }}
      onClose={props.onClose}
    >
      {t(release ? 'dashboard.decide.release_text' : 'dashboard.decide.discard_text')}
    </ReasonDialog>
  );
}
