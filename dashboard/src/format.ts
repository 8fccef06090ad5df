/**
 * Words and numbers as operators read them, in their language (i18n.ts). A time is shown in the
 * time zone of the site it happened at, since that is the time the people there saw on their
 * clocks; its zone is named when it is not the browser's, for an operator watching from elsewhere.
 */
import { CATALOGUE, when } from '../../devices/i18n.ts';
import { type DashboardKey, language, t } from './i18n.ts';
import type { LiveState } from './live.ts';

const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const zoneNames = new Map<string, Intl.DateTimeFormat>();

/** The zone's short name at that moment ("CET", "UTC−5"), in the operator's language. */
function zoneName(ms: number, zone: string): string {
  const id = `${language()}\u0000${zone}`;
  let f = zoneNames.get(id);
  if (!f) {
    f = new Intl.DateTimeFormat(language() === 'fr' ? 'fr-FR' : 'en-GB', {
      timeZone: zone,
      timeZoneName: 'short',
    });
    zoneNames.set(id, f);
  }
  return f.formatToParts(ms).find((p) => p.type === 'timeZoneName')?.value ?? zone;
}

/** Whether times in `zone` need their zone said: it is not the browser's own. */
export const foreignZone = (zone: string) => zone !== browserZone;

function stamp(ms: number | null | undefined, zone: string, style: 'short' | 'day'): string {
  if (ms === null || ms === undefined) return '—';
  const text = when(ms, language(), zone, style);
  return foreignZone(zone) ? `${text} ${zoneName(ms, zone)}` : text;
}

/** The time of day ("14:05") in `zone`. */
export const time = (ms: number | null | undefined, zone: string) => stamp(ms, zone, 'short');

/** The day and time ("sam. 5 déc., 14:05") in `zone`. */
export const dateTime = (ms: number | null | undefined, zone: string) => stamp(ms, zone, 'day');

const axisFormats = new Map<string, Intl.DateTimeFormat>();

/** A chart's tick: the time of day in `zone`, with the day and month once a window spans days. */
export function axisTime(ms: number, zone: string, withDate: boolean): string {
  const id = `${language()}\u0000${zone}\u0000${withDate}`;
  let f = axisFormats.get(id);
  if (!f) {
    f = new Intl.DateTimeFormat(language() === 'fr' ? 'fr-FR' : 'en-GB', {
      ...(withDate ? { day: 'numeric', month: 'numeric' } : {}),
      hour: '2-digit',
      minute: '2-digit',
      timeZone: zone,
    });
    axisFormats.set(id, f);
  }
  return f.format(ms);
}

/**
 * The time zone of a cabinet's site, or the hub's for what belongs to no site (or to a cabinet
 * the page does not know yet).
 */
export function zoneOf(live: Pick<LiveState, 'sites' | 'lockers' | 'hub'>, lockerId?: string | null): string {
  const siteId = lockerId ? live.lockers.get(lockerId)?.siteId : undefined;
  return (siteId && live.sites.find((s) => s.id === siteId)?.timeZone) || live.hub.timeZone;
}

/** "3 minutes ago", relative to the hub's clock. */
export function ago(ms: number | null | undefined, now: number): string {
  if (ms === null || ms === undefined) return t('dashboard.never');
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 10) return t('dashboard.ago.now');
  if (s < 60) return t('dashboard.ago.seconds', { n: s });
  if (s < 3600) return t('dashboard.ago.minutes', { n: Math.floor(s / 60) });
  if (s < 86_400)
    return t('dashboard.ago.hours', { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
  return t('dashboard.ago.days', { n: Math.floor(s / 86_400) });
}

const numbers = new Map<string, Intl.NumberFormat>();

/** A temperature with one decimal, the decimal mark of the operator's language ("3,5 °C"). */
export function celsius(c: number | null | undefined): string {
  if (c === null || c === undefined) return '—';
  let f = numbers.get(language());
  if (!f) {
    f = new Intl.NumberFormat(language(), { minimumFractionDigits: 1, maximumFractionDigits: 1 });
    numbers.set(language(), f);
  }
  return `${f.format(c)} °C`;
}

/** A catalogue entry named after a hub word, when the catalogue has one. */
export const known = (key: string): key is DashboardKey => key in CATALOGUE.en;

/** `prefix.word` from the catalogue, or the hub's word itself with spaces for an unknown one. */
export function named(prefix: string, word: string): string {
  const key = `${prefix}.${word}`;
  return known(key) ? t(key) : word.replace(/_/g, ' ');
}

/** Every alarm kind the dashboard has a name for, for the alarms' filter. */
export const ALARM_KINDS = Object.keys(CATALOGUE.en)
  .filter((k) => k.startsWith('dashboard.alarm.'))
  .map((k) => k.slice('dashboard.alarm.'.length));

export const alarmLabel = (kind: string) => named('dashboard.alarm', kind);
export const levelLabel = (level: string) => named('dashboard.level', level);
export const classLabel = (temperatureClass: string) => named('dashboard.class', temperatureClass);

/** Where an alarm is: a door, a sensor, or the whole cabinet. */
export function alarmPlace(a: { sensor: string | null; details: Record<string, unknown> }): string {
  if (a.sensor?.startsWith('door:')) return t('dashboard.place.door', { door: a.sensor.slice(5) });
  const doors = a.details.doors;
  if (Array.isArray(doors) && doors.length)
    return t('dashboard.place.sensor_doors', {
      sensor: a.sensor ?? '',
      doors: doors.join(', '),
      count: doors.length,
    });
  if (a.sensor) return t('dashboard.place.sensor', { sensor: a.sensor });
  // Why a controller counts as offline (`details.reason` of a `controller_offline` alarm).
  const reason = typeof a.details.reason === 'string' ? `dashboard.offline.${a.details.reason}` : '';
  return known(reason)
    ? t('dashboard.place.cabinet_why', { reason: t(reason) })
    : t('dashboard.place.cabinet');
}

/**
 * The cold chain's advice on a warming compartment (`details.collectBefore`, hub/domain/coldchain):
 * when to take the goods out by, in the site's time, or that it no longer warms; null when none.
 * Read from the time the hub keeps, not from its English `advice` sentence.
 */
export function alarmAdvice(details: Record<string, unknown>, zone: string): string | null {
  if (typeof details.collectBefore === 'number')
    return t('dashboard.advice.collect_before', { time: time(details.collectBefore, zone) });
  if ('collectBefore' in details) return t('dashboard.advice.not_warming');
  return null;
}

/** An event in words; an alarm event says which alarm. */
export function eventLabel(type: string, data: Record<string, unknown> = {}): string {
  const key = `dashboard.event.${type}`;
  if (!known(key)) return t('dashboard.event.other', { type });
  const event = t(key);
  if (type.startsWith('alarm.') && typeof data.kind === 'string')
    return t('dashboard.event.with_alarm', { event, alarm: alarmLabel(data.kind) });
  if (type.startsWith('site.') && typeof data.site === 'string')
    return t('dashboard.event.with_site', { event, site: data.site });
  return event;
}

/** Who did it, in words: `token:…` actors carry no name, so the event's data is read first. */
export function actorLabel(actor: string, data: Record<string, unknown> = {}): string {
  if (typeof data.by === 'string') return data.by;
  if (typeof data.operator === 'string') return data.operator;
  if (typeof data.name === 'string' && actor.startsWith('token:')) return data.name;
  if (actor.startsWith('device:')) return t('dashboard.actor.cabinet', { id: actor.slice(7) });
  if (actor.startsWith('driver:'))
    return typeof data.driver === 'string'
      ? t('dashboard.actor.driver_named', { name: data.driver })
      : t('dashboard.actor.driver');
  if (actor.startsWith('token:')) return t('dashboard.actor.token');
  if (actor === 'hub') return t('dashboard.actor.hub');
  return actor;
}

/** Every parcel state the dashboard has a name for (the labels), for the parcels' filter. */
export const PARCEL_STATES = Object.keys(CATALOGUE.en)
  .filter((k) => k.startsWith('dashboard.state.'))
  .map((k) => k.slice('dashboard.state.'.length));

export const stateLabel = (s: string) => named('dashboard.state', s);
