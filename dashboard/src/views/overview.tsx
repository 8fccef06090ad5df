/** Every site and cabinet with its connection state; open alarms first. */
import type { AlarmView, LockerView } from '../../../devices/live.ts';
import { ago, alarmLabel, alarmPlace, eventLabel, time } from '../format.ts';
import { href, useLive, useStore } from '../hooks.ts';
import { Badge, Loading } from '../ui.tsx';

/** Critical before warning, unacknowledged before acknowledged, then newest first. */
export const alarmOrder = (a: AlarmView, b: AlarmView) =>
  (a.level === b.level ? 0 : a.level === 'critical' ? -1 : 1) ||
  (a.state === b.state ? 0 : a.state === 'raised' ? -1 : 1) ||
  b.raisedAt - a.raisedAt;

export function Overview() {
  const live = useLive();
  const store = useStore();
  if (live.snapshots === 0) return <Loading what="the fleet" />;
  const alarms = [...live.alarms.values()].sort(alarmOrder);
  const byLocker = new Map<string, AlarmView[]>();
  for (const a of alarms) byLocker.set(a.lockerId, [...(byLocker.get(a.lockerId) ?? []), a]);
  const rank = (l: LockerView) => (byLocker.has(l.id) ? 0 : l.online ? 2 : 1);
  return (
    <>
      <section aria-labelledby="open-alarms">
        <h1 id="open-alarms">
          Open alarms <span class="muted">({alarms.length})</span>
        </h1>
        {alarms.length === 0 ? (
          <p class="ok-line">No open alarm. Every cabinet within its limits.</p>
        ) : (
          <ul class="alarm-list">
            {alarms.map((a) => (
              <li key={a.id} class={`alarm alarm-${a.level} alarm-${a.state}`}>
                <Badge kind={a.level}>{a.level}</Badge>
                <a href={href('lockers', a.lockerId)}>{a.lockerId}</a>
                <strong>{alarmLabel(a.kind)}</strong>
                <span>{alarmPlace(a)}</span>
                <span class="muted">since {time(a.since ?? a.raisedAt)}</span>
                {a.state === 'acknowledged' ? (
                  <Badge kind="acked" title={a.acknowledged?.comment ?? ''}>
                    acknowledged by {a.acknowledged?.by}
                  </Badge>
                ) : (
                  <a href={`#/alarms?focus=${a.id}`}>Acknowledge…</a>
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
                {site.online}/{site.lockers} online
              </span>{' '}
              {site.line && !site.line.up && (
                <Badge
                  kind="critical"
                  title="The site's own broker cannot reach the hub: its cabinets are out of reach, and open with their offline code tables meanwhile"
                >
                  line to the hub down since {time(site.line.since)}
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
        <h2 id="activity">Latest activity</h2>
        {live.events.length === 0 ? (
          <p class="muted">Nothing has happened yet.</p>
        ) : (
          <ol class="activity">
            {live.events.slice(0, 15).map((e) => (
              <li key={e.seq}>
                <time class="muted">{time(e.ts)}</time> <strong>{eventLabel(e.type, e.data)}</strong>
                {e.lockerId && (
                  <>
                    {' '}
                    ·{' '}
                    <a href={e.door ? href('lockers', e.lockerId, e.door) : href('lockers', e.lockerId)}>
                      {e.lockerId}
                      {e.door ? ` door ${e.door}` : ''}
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
          <Badge kind="online">online</Badge>
        ) : (
          <Badge kind="offline">offline · seen {ago(l.lastSeen, props.now)}</Badge>
        )}
        {props.alarms.length > 0 && (
          <Badge kind={worst ?? 'warning'}>
            {props.alarms.length} alarm{props.alarms.length > 1 ? 's' : ''}
          </Badge>
        )}
      </p>
      <p class="small">
        {occupied}/{doors} occupied · {open} door{open === 1 ? '' : 's'} open
      </p>
    </li>
  );
}
