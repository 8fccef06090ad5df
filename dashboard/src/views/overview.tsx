/** Every site and cabinet with its connection state; open alarms first. */
import type { AlarmView, LockerView } from '../../../devices/live.ts';
import { ago, alarmLabel, alarmPlace, eventLabel, foreignZone, levelLabel, time, zoneOf } from '../format.ts';
import { href, useLive, useStore } from '../hooks.ts';
import { t } from '../i18n.ts';
import { Badge, Loading } from '../ui.tsx';

/** Critical before warning, unacknowledged before acknowledged, then newest first. */
export const alarmOrder = (a: AlarmView, b: AlarmView) =>
  (a.level === b.level ? 0 : a.level === 'critical' ? -1 : 1) ||
  (a.state === b.state ? 0 : a.state === 'raised' ? -1 : 1) ||
  b.raisedAt - a.raisedAt;

export function Overview() {
  const live = useLive();
  const store = useStore();
  if (live.snapshots === 0) return <Loading text={t('dashboard.overview.loading')} />;
  const alarms = [...live.alarms.values()].sort(alarmOrder);
  const byLocker = new Map<string, AlarmView[]>();
  for (const a of alarms) byLocker.set(a.lockerId, [...(byLocker.get(a.lockerId) ?? []), a]);
  const rank = (l: LockerView) => (byLocker.has(l.id) ? 0 : l.online ? 2 : 1);
  return (
    <>
      <section aria-labelledby="open-alarms">
        <h1 id="open-alarms">
          {t('dashboard.overview.open_alarms')} <span class="muted">({alarms.length})</span>
        </h1>
        {alarms.length === 0 ? (
          <p class="ok-line">{t('dashboard.overview.no_alarm')}</p>
        ) : (
          <ul class="alarm-list">
            {alarms.map((a) => (
              <li key={a.id} class={`alarm alarm-${a.level} alarm-${a.state}`}>
                <Badge kind={a.level}>{levelLabel(a.level)}</Badge>
                <a href={href('lockers', a.lockerId)}>{a.lockerId}</a>
                <strong>{alarmLabel(a.kind)}</strong>
                <span>{alarmPlace(a)}</span>
                <span class="muted">
                  {t('dashboard.overview.since', {
                    time: time(a.since ?? a.raisedAt, zoneOf(live, a.lockerId)),
                  })}
                </span>
                {a.state === 'acknowledged' ? (
                  <Badge kind="acked" title={a.acknowledged?.comment ?? ''}>
                    {t('dashboard.overview.acked_by', { who: a.acknowledged?.by ?? '' })}
                  </Badge>
                ) : (
                  <a href={`#/alarms?focus=${a.id}`}>{t('dashboard.overview.acknowledge')}</a>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>
      {live.sites.map((site) => {
        const lockers = [...live.lockers.values()]
          .filter((l) => l.siteId === site.id)
          .sort((a, b) => rank(a) - rank(b) || a.id.localeCompare(b.id));
        return (
          <section key={site.id} aria-labelledby={`site-${site.id}`} class="site">
            <h2 id={`site-${site.id}`}>
              {site.name}{' '}
              <span class="muted">
                {t('dashboard.overview.online_count', { online: site.online, lockers: site.lockers })}
              </span>{' '}
              {foreignZone(site.timeZone) && (
                <span class="muted small zone" data-zone={site.timeZone}>
                  {t('dashboard.overview.zone', { zone: site.timeZone })}
                </span>
              )}{' '}
              {site.line && !site.line.up && (
                <Badge kind="critical" title={t('dashboard.overview.line_down_why')}>
                  {t('dashboard.overview.line_down', { time: time(site.line.since, site.timeZone) })}
                </Badge>
              )}
            </h2>
            <ul class="cards">
              {lockers.map((l) => (
                <LockerCard key={l.id} locker={l} alarms={byLocker.get(l.id) ?? []} now={store.hubNow()} />
              ))}
            </ul>
          </section>
        );
      })}
      <section aria-labelledby="activity">
        <h2 id="activity">{t('dashboard.overview.activity')}</h2>
        {live.events.length === 0 ? (
          <p class="muted">{t('dashboard.overview.nothing_yet')}</p>
        ) : (
          <ol class="activity">
            {live.events.slice(0, 15).map((e) => (
              <li key={e.seq} data-seq={e.seq}>
                <time class="muted" dateTime={new Date(e.ts).toISOString()}>
                  {time(e.ts, zoneOf(live, e.lockerId))}
                </time>{' '}
                <strong>{eventLabel(e.type, e.data)}</strong>
                {e.lockerId && (
                  <>
                    {' '}
                    ·{' '}
                    <a href={e.door ? href('lockers', e.lockerId, e.door) : href('lockers', e.lockerId)}>
                      {e.door
                        ? t('dashboard.place.door_at', { locker: e.lockerId, door: e.door })
                        : e.lockerId}
                    </a>
                  </>
                )}
                {e.parcelId && (
                  <>
                    {' '}
                    · <a href={href('parcels', e.parcelId)}>{e.parcelId}</a>
                  </>
                )}
              </li>
            ))}
          </ol>
        )}
      </section>
    </>
  );
}

function LockerCard(props: { locker: LockerView; alarms: AlarmView[]; now: number }) {
  const l = props.locker;
  const doors = l.compartments.length;
  const occupied = l.compartments.filter((c) => c.occupied).length;
  const open = l.compartments.filter((c) => c.doorState === 'open').length;
  const worst = props.alarms[0]?.level;
  return (
    <li class={`card ${worst ? `card-${worst}` : l.online ? '' : 'card-offline'}`} data-locker={l.id}>
      <a href={href('lockers', l.id)} class="card-link">
        <span class="card-title">{l.id}</span>
        <span class="muted small">{l.profile}</span>
      </a>
      <p>
        {l.online ? (
          <Badge kind="online">{t('dashboard.locker.online')}</Badge>
        ) : (
          <Badge kind="offline">
            {l.lastSeen === null
              ? t('dashboard.locker.offline_never')
              : t('dashboard.locker.offline_seen', { ago: ago(l.lastSeen, props.now) })}
          </Badge>
        )}
        {props.alarms.length > 0 && (
          <Badge kind={worst ?? 'warning'}>{t('dashboard.locker.alarms', { n: props.alarms.length })}</Badge>
        )}
      </p>
      <p class="small">{t('dashboard.locker.occupancy', { occupied, doors, open })}</p>
    </li>
  );
}
