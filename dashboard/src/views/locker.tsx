/** One cabinet drawn as it is built, each compartment coloured by its condition, live. */
import { useEffect, useState } from 'preact/hooks';
import type { AlarmView, CompartmentView, LockerView } from '../../../devices/live.ts';
import { type ApiError, api, type CommandAccepted, type CommandStatus, type CommandView } from '../api.ts';
import {
  ago,
  alarmAdvice,
  alarmLabel,
  alarmPlace,
  celsius,
  classLabel,
  known,
  levelLabel,
  stateLabel,
  time,
  zoneOf,
} from '../format.ts';
import { href, useLive, useStore } from '../hooks.ts';
import { type DashboardKey, t } from '../i18n.ts';
import { Badge, Dialog, ErrorLine, Loading, ReasonDialog } from '../ui.tsx';
import { TemperatureChart } from './chart.tsx';
import { alarmOrder } from './overview.tsx';

type Condition = 'critical' | 'warning' | 'open' | 'stale' | 'occupied' | 'reserved' | 'free';

const alarmsOf = (alarms: AlarmView[], c: CompartmentView) =>
  alarms.filter((a) => a.sensor === `door:${c.door}` || (c.sensor !== null && a.sensor === c.sensor));

function condition(l: LockerView, c: CompartmentView, alarms: AlarmView[]): Condition {
  const mine = alarmsOf(alarms, c);
  if (mine.some((a) => a.level === 'critical')) return 'critical';
  if (mine.length) return 'warning';
  if (c.doorState === 'open') return 'open';
  if (!l.online || c.temperature?.stale) return 'stale';
  if (c.occupied) return 'occupied';
  return c.parcel ? 'reserved' : 'free';
}

/** Every condition, in the legend's order. */
const CONDITIONS: Condition[] = ['critical', 'warning', 'open', 'stale', 'occupied', 'reserved', 'free'];
const conditionWords = (c: Condition) => t(`dashboard.cond.${c}`);

/**
 * What a door is unlocked for while an opening is in progress (a compartment's `opening`, the
 * hub's `DoorOperation` in hub/domain/compartments.ts), said after "unlocked": "unlocked for the
 * customer to collect the parcel". Operators read who the door waits for, not the hub's word.
 */
function openingWords(op: string): string {
  const key = `dashboard.opening.${op}`;
  return known(key) ? t(key) : t('dashboard.opening.other', { op: op.replace(/_/g, ' ') });
}

/** What a door's item sensor says, in a word for the cell and in a phrase for the details. */
const goodsWords = (goods: NonNullable<CompartmentView['goods']>, long = false) =>
  t(`dashboard.goods.${goods}${long ? '_long' : ''}` as DashboardKey);

export function LockerPage(props: { id: string; door: number | null }) {
  const live = useLive();
  const store = useStore();
  if (live.snapshots === 0) return <Loading text={t('dashboard.cabinet.loading')} />;
  const l = live.lockers.get(props.id);
  if (!l)
    return (
      <section>
        <h1>{t('dashboard.cabinet.unknown', { id: props.id })}</h1>
        <a href={href()}>{t('dashboard.back_to_sites')}</a>
      </section>
    );
  const zone = zoneOf(live, l.id);
  const alarms = [...live.alarms.values()].filter((a) => a.lockerId === l.id).sort(alarmOrder);
  const selected = l.compartments.find((c) => c.door === props.door) ?? null;
  const cols = Math.max(...l.compartments.map((c) => (c.layout?.col ?? 0) + 1));
  return (
    <>
      <nav class="crumbs" aria-label={t('dashboard.cabinet.breadcrumb')}>
        <a href={href()}>{t('dashboard.nav.sites')}</a> › {l.siteId} › <span aria-current="page">{l.id}</span>
      </nav>
      <h1>
        {l.id}{' '}
        {l.online ? (
          <Badge kind="online">{t('dashboard.locker.online')}</Badge>
        ) : (
          <Badge kind="offline">{t('dashboard.locker.offline')}</Badge>
        )}
      </h1>
      <p class="muted small">
        {t('dashboard.cabinet.facts', {
          profile: l.profile,
          firmware: l.firmware ?? '—',
          ago: ago(l.lastSeen, store.hubNow()),
        })}
      </p>
      {alarms.length > 0 && (
        <ul class="alarm-list compact">
          {alarms.map((a) => (
            <li key={a.id} class={`alarm alarm-${a.level} alarm-${a.state}`}>
              <Badge kind={a.level}>{levelLabel(a.level)}</Badge>
              <strong>{alarmLabel(a.kind)}</strong> {alarmPlace(a)}{' '}
              <span class="muted">
                {t('dashboard.overview.since', { time: time(a.since ?? a.raisedAt, zone) })}
              </span>
              {alarmAdvice(a.details, zone) && <em> — {alarmAdvice(a.details, zone)}</em>}
              {a.state === 'acknowledged' && (
                <Badge kind="acked">
                  {t('dashboard.overview.acked_by', { who: a.acknowledged?.by ?? '' })}
                </Badge>
              )}
            </li>
          ))}
        </ul>
      )}
      <div class={`locker-layout ${selected ? 'with-panel' : ''}`}>
        <div>
          <section
            class="locker"
            style={{ gridTemplateColumns: `repeat(${cols}, minmax(var(--door-min), 1fr))` }}
            aria-label={t('dashboard.cabinet.front', { locker: l.id })}
          >
            {l.compartments.map((c) => (
              <Compartment
                key={c.door}
                locker={l}
                c={c}
                cond={condition(l, c, alarms)}
                selected={c.door === props.door}
              />
            ))}
          </section>
          <Legend />
        </div>
        {selected && (
          <CompartmentPanel locker={l} c={selected} alarms={alarmsOf(alarms, selected)} zone={zone} />
        )}
      </div>
    </>
  );
}

function Compartment(props: { locker: LockerView; c: CompartmentView; cond: Condition; selected: boolean }) {
  const { c, cond } = props;
  const pos = c.layout
    ? { gridColumn: `${c.layout.col + 1}`, gridRow: `${c.layout.row + 1} / span ${c.layout.rows}` }
    : {};
  const temp = c.temperature
    ? c.temperature.stale
      ? t('dashboard.door.stale', { temp: celsius(c.temperature.c) })
      : celsius(c.temperature.c)
    : null;
  const known = c.doorState === 'open' || c.doorState === 'closed';
  const door = t(known ? `dashboard.door.${c.doorState as 'open' | 'closed'}` : 'dashboard.door.unknown');
  const label = [
    t('dashboard.door.label', {
      door: c.door,
      size: c.size,
      class: classLabel(c.temperatureClass),
      condition: conditionWords(cond),
      state: t(
        known ? `dashboard.door.state_${c.doorState as 'open' | 'closed'}` : 'dashboard.door.state_unknown',
      ),
    }),
    temp,
    c.goods && goodsWords(c.goods, true),
  ]
    .filter(Boolean)
    .join(', ');
  return (
    <a
      href={props.selected ? href('lockers', props.locker.id) : href('lockers', props.locker.id, c.door)}
      class={`comp cond-${cond} ${props.selected ? 'selected' : ''}`}
      style={pos}
      aria-label={label}
      aria-current={props.selected ? 'true' : undefined}
      data-door={c.door}
      data-door-state={c.doorState}
      data-condition={cond}
      data-goods={c.goods ?? undefined}
    >
      <span class="comp-door">{c.door}</span>
      <span class="comp-class">
        {c.size} · {classLabel(c.temperatureClass)}
      </span>
      {temp && <span class="comp-temp">{temp}</span>}
      <span class="comp-state">
        {door}
        {c.opening ? ` · ${t('dashboard.door.unlocked')}` : ''}
      </span>
      <span class="comp-parcel">{c.parcel ? stateLabel(c.parcel.state) : t('dashboard.door.free')}</span>
      {c.goods && <span class={`comp-goods goods-${c.goods}`}>{goodsWords(c.goods)}</span>}
    </a>
  );
}

function Legend() {
  return (
    <ul class="legend" aria-label={t('dashboard.cabinet.colours')}>
      {CONDITIONS.map((k) => (
        <li key={k}>
          <span class={`swatch cond-${k}`} aria-hidden="true" /> {conditionWords(k)}
        </li>
      ))}
    </ul>
  );
}

function CompartmentPanel(props: {
  locker: LockerView;
  c: CompartmentView;
  alarms: AlarmView[];
  zone: string;
}) {
  const { locker, c } = props;
  const [opening, setOpening] = useState(false);
  const [cancelling, setCancelling] = useState(false);
  return (
    <aside class="panel" aria-labelledby="panel-title">
      <h2 id="panel-title">
        {t('dashboard.panel.title', { door: c.door })}{' '}
        <a class="quiet small" href={href('lockers', locker.id)} aria-label={t('dashboard.panel.close')}>
          ✕
        </a>
      </h2>
      <dl class="facts">
        <dt>{t('dashboard.panel.size_class')}</dt>
        <dd>
          {c.size}, {classLabel(c.temperatureClass)}
        </dd>
        <dt>{t('dashboard.panel.door')}</dt>
        <dd>
          {c.doorState === 'open'
            ? t('dashboard.panel.door_open')
            : c.doorState === 'closed'
              ? t('dashboard.panel.door_closed')
              : t('dashboard.panel.door_unknown')}
        </dd>
        <dt>{t('dashboard.panel.lock')}</dt>
        <dd>
          {c.opening
            ? t('dashboard.panel.unlocked', { why: openingWords(c.opening) })
            : t('dashboard.panel.locked')}
        </dd>
        {c.goods && (
          <>
            <dt>{t('dashboard.goods.label')}</dt>
            <dd data-goods={c.goods}>{goodsWords(c.goods, true)}</dd>
          </>
        )}
        <dt>{t('dashboard.panel.parcel')}</dt>
        <dd>
          {c.parcel ? (
            <a href={href('parcels', c.parcel.id)}>
              {c.parcel.id} ({stateLabel(c.parcel.state)})
            </a>
          ) : (
            t('dashboard.none')
          )}
        </dd>
        <dt>{t('dashboard.panel.temperature')}</dt>
        <dd>
          {c.temperature
            ? t(c.temperature.stale ? 'dashboard.panel.temp_stale' : 'dashboard.panel.temp_at', {
                temp: celsius(c.temperature.c),
                time: time(c.temperature.at, props.zone),
              })
            : c.sensor
              ? t('dashboard.panel.no_reading')
              : t('dashboard.panel.no_sensor')}
        </dd>
      </dl>
      <button
        type="button"
        class="danger"
        onClick={() => setOpening(true)}
        disabled={!locker.online}
        title={locker.online ? undefined : t('dashboard.panel.offline_title')}
      >
        {t('dashboard.panel.open', { door: c.door })}
      </button>
      {c.opening && c.doorState !== 'open' && (
        <button type="button" onClick={() => setCancelling(true)}>
          {t('dashboard.panel.give_up')}
        </button>
      )}
      {!locker.online && <p class="muted small">{t('dashboard.panel.offline')}</p>}
      {opening && <RemoteOpen locker={locker} c={c} onClose={() => setOpening(false)} />}
      {cancelling && c.opening && <CancelOpen locker={locker} c={c} onClose={() => setCancelling(false)} />}
      {c.sensor && (
        <TemperatureChart
          lockerId={locker.id}
          siteId={locker.siteId}
          sensor={c.sensor}
          temperatureClass={c.temperatureClass}
          zone={props.zone}
        />
      )}
    </aside>
  );
}

/** Reason, then confirmation, then the command's outcome: the same audited path as every open. */
/**
 * Gives up an opening whose door has not opened (a code's or an operator's): the compartment
 * returns to service and a code it was for may be typed again. The hub refuses once the door is
 * open: the operation then completes when it closes.
 */
function CancelOpen(props: { locker: LockerView; c: CompartmentView; onClose: () => void }) {
  const { locker, c } = props;
  return (
    <ReasonDialog
      title={t('dashboard.cancel_open.title', { door: c.door, locker: locker.id })}
      id="cancel-reason"
      submit={t('dashboard.cancel_open.submit')}
      cancel={t('dashboard.back')}
      send={(reason) =>
        api('POST', `/api/v1/lockers/${encodeURIComponent(locker.id)}/compartments/${c.door}/open/cancel`, {
          reason,
        })
      }
      onClose={props.onClose}
    >
      {t('dashboard.cancel_open.text', { door: c.door, why: openingWords(c.opening ?? '') })}
    </ReasonDialog>
  );
}

function RemoteOpen(props: { locker: LockerView; c: CompartmentView; onClose: () => void }) {
  const { locker, c } = props;
  const [step, setStep] = useState<'reason' | 'confirm' | 'sent'>('reason');
  const [reason, setReason] = useState('');
  const [retrieve, setRetrieve] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [command, setCommand] = useState<CommandStatus | null>(null);
  useEffect(() => {
    if (step !== 'sent' || !command || ['done', 'failed', 'expired'].includes(command.state)) return;
    const t = setTimeout(async () => {
      try {
        setCommand(await api<CommandView>('GET', `/api/v1/commands/${command.id}`));
      } catch (err) {
        setError(err as ApiError);
      }
    }, 500);
    return () => clearTimeout(t);
  }, [step, command]);
  const send = async () => {
    setError(null);
    try {
      const res = await api<CommandAccepted>(
        'POST',
        `/api/v1/lockers/${encodeURIComponent(locker.id)}/compartments/${c.door}/open`,
        { reason: reason.trim(), ...(retrieve ? { retrieve: true } : {}) },
      );
      setCommand({ id: res.commandId, state: 'pending', error: null, doneAt: null });
      setStep('sent');
    } catch (err) {
      setError(err as ApiError);
    }
  };
  return (
    <Dialog title={t('dashboard.remote.title', { door: c.door, locker: locker.id })} onClose={props.onClose}>
      {step === 'reason' && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setStep('confirm');
          }}
        >
          <label for="open-reason">{t('dashboard.remote.why')}</label>
          <textarea
            id="open-reason"
            required
            minLength={3}
            maxLength={500}
            value={reason}
            onInput={(e) => setReason(e.currentTarget.value)}
          />
          {c.parcel && (
            <label class="check">
              <input
                type="checkbox"
                checked={retrieve}
                onChange={(e) => setRetrieve(e.currentTarget.checked)}
              />{' '}
              {t('dashboard.remote.retrieve')}
            </label>
          )}
          <div class="actions">
            <button type="button" onClick={props.onClose}>
              {t('dashboard.cancel')}
            </button>
            <button type="submit" class="primary" disabled={reason.trim().length < 3}>
              {t('dashboard.continue')}
            </button>
          </div>
        </form>
      )}
      {step === 'confirm' && (
        <div>
          <p>
            {c.parcel
              ? t('dashboard.remote.confirm_parcel', {
                  door: c.door,
                  locker: locker.id,
                  parcel: c.parcel.id,
                  reason: reason.trim(),
                })
              : t('dashboard.remote.confirm', { door: c.door, locker: locker.id, reason: reason.trim() })}
          </p>
          <ErrorLine error={error} />
          <div class="actions">
            <button type="button" onClick={() => setStep('reason')}>
              {t('dashboard.back')}
            </button>
            <button type="button" class="danger" onClick={send}>
              {t('dashboard.remote.now', { door: c.door })}
            </button>
          </div>
        </div>
      )}
      {step === 'sent' && command && (
        <div>
          <p role="status" data-command-state={command.state}>
            {command.state === 'done'
              ? t('dashboard.remote.done', { door: c.door })
              : command.state === 'failed'
                ? t('dashboard.remote.failed', {
                    door: c.door,
                    error: command.error ?? t('dashboard.remote.no_reason'),
                  })
                : command.state === 'expired'
                  ? t('dashboard.remote.expired')
                  : t('dashboard.remote.waiting')}
          </p>
          <ErrorLine error={error} />
          <div class="actions">
            <button type="button" class="primary" onClick={props.onClose}>
              {t('dashboard.close')}
            </button>
          </div>
        </div>
      )}
    </Dialog>
  );
}
