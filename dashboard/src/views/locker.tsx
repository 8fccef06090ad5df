/** One cabinet drawn as it is built, each compartment coloured by its condition, live. */
import { useEffect, useState } from 'preact/hooks';
import type { AlarmView, CompartmentView, LockerView } from '../../../devices/live.ts';
import { type ApiError, api, type CommandAccepted, type CommandStatus, type CommandView } from '../api.ts';
import { ago, alarmLabel, alarmPlace, celsius, stateLabel, time } from '../format.ts';
import { href, useLive, useStore } from '../hooks.ts';
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

const CONDITION_WORDS: Record<Condition, string> = {
  critical: 'critical alarm',
  warning: 'warning',
  open: 'door open',
  stale: 'no current data',
  occupied: 'occupied',
  reserved: 'reserved',
  free: 'free',
};

/**
 * What a door is unlocked for while an opening is in progress (a compartment's `opening`, the
 * hub's `DoorOperation` in hub/domain/compartments.ts), said after "unlocked": "unlocked for the
 * customer to collect the parcel". Operators read who the door waits for, not the hub's word.
 */
const OPENINGS: Record<string, string> = {
  deposit: 'for the producer to deposit the goods',
  pickup: 'for the customer to collect the parcel',
  collect: 'for the driver to collect the parcel',
  deliver: 'for the driver to deliver the parcel',
  operator: 'remotely by an operator',
  retrieve: 'remotely by an operator, to take the goods out',
};

const openingWords = (op: string) => OPENINGS[op] ?? `for ${op.replace(/_/g, ' ')}`;

export function LockerPage(props: { id: string; door: number | null }) {
  const live = useLive();
  const store = useStore();
  if (live.snapshots === 0) return <Loading what="the cabinet" />;
  const l = live.lockers.get(props.id);
  if (!l)
    return (
      <section>
        <h1>No cabinet {props.id}</h1>
        <a href={href()}>Back to the sites</a>
      </section>
    );
  const alarms = [...live.alarms.values()].filter((a) => a.lockerId === l.id).sort(alarmOrder);
  const selected = l.compartments.find((c) => c.door === props.door) ?? null;
  const cols = Math.max(...l.compartments.map((c) => (c.layout?.col ?? 0) + 1));
  return (
    <>
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href={href()}>Sites</a> › {l.siteId} › <span aria-current="page">{l.id}</span>
      </nav>
      <h1>
        {l.id} {l.online ? <Badge kind="online">online</Badge> : <Badge kind="offline">offline</Badge>}
      </h1>
      <p class="muted small">
        {l.profile} · firmware {l.firmware ?? '—'} · last heard {ago(l.lastSeen, store.hubNow())}
      </p>
      {alarms.length > 0 && (
        <ul class="alarm-list compact">
          {alarms.map((a) => (
            <li key={a.id} class={`alarm alarm-${a.level} alarm-${a.state}`}>
              <Badge kind={a.level}>{a.level}</Badge>
              <strong>{alarmLabel(a.kind)}</strong> {alarmPlace(a)}{' '}
              <span class="muted">since {time(a.since ?? a.raisedAt)}</span>
              {typeof a.details.advice === 'string' && <em> — {a.details.advice}</em>}
              {a.state === 'acknowledged' && <Badge kind="acked">acknowledged by {a.acknowledged?.by}</Badge>}
            </li>
          ))}
        </ul>
      )}
      <div class={`locker-layout ${selected ? 'with-panel' : ''}`}>
        <div>
          <section
            class="locker"
            style={{ gridTemplateColumns: `repeat(${cols}, minmax(var(--door-min), 1fr))` }}
            aria-label={`Front of ${l.id}`}
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
        {selected && <CompartmentPanel locker={l} c={selected} alarms={alarmsOf(alarms, selected)} />}
      </div>
    </>
  );
}

function Compartment(props: { locker: LockerView; c: CompartmentView; cond: Condition; selected: boolean }) {
  const { c, cond } = props;
  const pos = c.layout
    ? { gridColumn: `${c.layout.col + 1}`, gridRow: `${c.layout.row + 1} / span ${c.layout.rows}` }
    : {};
  const temp = c.temperature ? `${celsius(c.temperature.c)}${c.temperature.stale ? ' (stale)' : ''}` : null;
  const door = c.doorState === 'open' ? 'Open' : c.doorState === 'closed' ? 'Closed' : 'Door not reported';
  const label = `Door ${c.door}, ${c.size}, ${c.temperatureClass}, ${CONDITION_WORDS[cond]}, door ${c.doorState}${temp ? `, ${temp}` : ''}`;
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
    >
      <span class="comp-door">{c.door}</span>
      <span class="comp-class">
        {c.size} · {c.temperatureClass}
      </span>
      {temp && <span class="comp-temp">{temp}</span>}
      <span class="comp-state">
        {door}
        {c.opening ? ' · unlocked' : ''}
      </span>
      <span class="comp-parcel">{c.parcel ? `${stateLabel(c.parcel.state)}` : 'Free'}</span>
    </a>
  );
}

function Legend() {
  return (
    <ul class="legend" aria-label="Colours">
      {(Object.keys(CONDITION_WORDS) as Condition[]).map((k) => (
        <li key={k}>
          <span class={`swatch cond-${k}`} aria-hidden="true" /> {CONDITION_WORDS[k]}
        </li>
      ))}
    </ul>
  );
}

function CompartmentPanel(props: { locker: LockerView; c: CompartmentView; alarms: AlarmView[] }) {
  const { locker, c } = props;
  const [opening, setOpening] = useState(false);
  const [cancelling, setCancelling] = useState(false);
  return (
    <aside class="panel" aria-labelledby="panel-title">
      <h2 id="panel-title">
        Door {c.door}{' '}
        <a class="quiet small" href={href('lockers', locker.id)} aria-label="Close the door's details">
          ✕
        </a>
      </h2>
      <dl class="facts">
        <dt>Size, class</dt>
        <dd>
          {c.size}, {c.temperatureClass}
        </dd>
        <dt>Door</dt>
        <dd>{c.doorState === 'unknown' ? 'not reported by the cabinet yet' : c.doorState}</dd>
        <dt>Lock</dt>
        <dd>{c.opening ? `unlocked ${openingWords(c.opening)}` : 'locked'}</dd>
        <dt>Parcel</dt>
        <dd>
          {c.parcel ? (
            <a href={href('parcels', c.parcel.id)}>
              {c.parcel.id} ({stateLabel(c.parcel.state)})
            </a>
          ) : (
            'none'
          )}
        </dd>
        <dt>Temperature</dt>
        <dd>
          {c.temperature
            ? `${celsius(c.temperature.c)} at ${time(c.temperature.at)}${c.temperature.stale ? ' — stale: the sensor is silent' : ''}`
            : c.sensor
              ? 'no reading yet'
              : 'no sensor'}
        </dd>
      </dl>
      <button
        type="button"
        class="danger"
        onClick={() => setOpening(true)}
        disabled={!locker.online}
        title={locker.online ? undefined : 'The cabinet is offline: a door cannot be opened now'}
      >
        Open door {c.door}…
      </button>
      {c.opening && c.doorState !== 'open' && (
        <button type="button" onClick={() => setCancelling(true)}>
          Give up this opening…
        </button>
      )}
      {!locker.online && <p class="muted small">The cabinet is offline: remote opening is unavailable.</p>}
      {opening && <RemoteOpen locker={locker} c={c} onClose={() => setOpening(false)} />}
      {cancelling && c.opening && <CancelOpen locker={locker} c={c} onClose={() => setCancelling(false)} />}
      {c.sensor && (
        <TemperatureChart
          lockerId={locker.id}
          siteId={locker.siteId}
          sensor={c.sensor}
          temperatureClass={c.temperatureClass}
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
      title={`Give up opening door ${c.door} of ${locker.id}`}
      id="cancel-reason"
      submit="Give up the opening"
      cancel="Back"
      send={(reason) =>
        api('POST', `/api/v1/lockers/${encodeURIComponent(locker.id)}/compartments/${c.door}/open/cancel`, {
          reason,
        })
      }
      onClose={props.onClose}
    >
      Door {c.door} was unlocked {openingWords(c.opening ?? '')}, and nobody has opened it. Giving it up puts
      the compartment back in service; a code it was unlocked for can be typed again. The hub refuses while
      the cabinet has not answered the unlock: a copy on its way may still release the door.
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
    <Dialog title={`Open door ${c.door} of ${locker.id}`} onClose={props.onClose}>
      {step === 'reason' && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setStep('confirm');
          }}
        >
          <label for="open-reason">Why must it open? (recorded in the audit trail)</label>
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
              Taking the goods out: the parcel is marked returned when the door closes
            </label>
          )}
          <div class="actions">
            <button type="button" onClick={props.onClose}>
              Cancel
            </button>
            <button type="submit" class="primary" disabled={reason.trim().length < 3}>
              Continue
            </button>
          </div>
        </form>
      )}
      {step === 'confirm' && (
        <div>
          <p>
            Door <strong>{c.door}</strong> of <strong>{locker.id}</strong> will unlock at the cabinet now
            {c.parcel ? `, with parcel ${c.parcel.id} inside` : ''}. This is recorded with your name and the
            reason: “{reason.trim()}”.
          </p>
          <ErrorLine error={error} />
          <div class="actions">
            <button type="button" onClick={() => setStep('reason')}>
              Back
            </button>
            <button type="button" class="danger" onClick={send}>
              Open door {c.door} now
            </button>
          </div>
        </div>
      )}
      {step === 'sent' && command && (
        <div>
          <p role="status" data-command-state={command.state}>
            {command.state === 'done'
              ? `Door ${c.door} unlocked.`
              : command.state === 'failed'
                ? `The cabinet could not unlock door ${c.door}: ${command.error ?? 'no reason given'}.`
                : command.state === 'expired'
                  ? 'The cabinet did not answer in time; nothing was opened.'
                  : 'Sent to the cabinet; waiting for it to answer…'}
          </p>
          <ErrorLine error={error} />
          <div class="actions">
            <button type="button" class="primary" onClick={props.onClose}>
              Close
            </button>
          </div>
        </div>
      )}
    </Dialog>
  );
}
