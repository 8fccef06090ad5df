/** Words and numbers as operators read them. Times are shown in the browser's time zone. */

const pad = (n: number) => String(n).padStart(2, '0');

export function time(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function dateTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** "3 min ago", relative to the hub's clock. */
export function ago(ms: number | null | undefined, now: number): string {
  if (ms === null || ms === undefined) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

export const celsius = (c: number | null | undefined) =>
  c === null || c === undefined ? '—' : `${c.toFixed(1)} °C`;

export const ALARM_LABELS: Record<string, string> = {
  temperature_high: 'Temperature high',
  temperature_low: 'Temperature low (freezing)',
  exposure_limit: 'Too long out of range',
  sensor_silent: 'Sensor silent',
  sensor_fault: 'Sensor fault',
  door_left_open: 'Door left open',
  door_forced: 'Door forced',
  controller_offline: 'Controller offline',
  on_battery: 'On battery',
  clock_skew: 'Clock wrong',
  keypad_guessing: 'Codes being guessed',
  remote_open_abuse: 'Remote opens suspended',
  presence_mismatch: 'Goods left, or none deposited',
};

export const alarmLabel = (kind: string) => ALARM_LABELS[kind] ?? kind.replace(/_/g, ' ');

/** Where an alarm is: a door, a sensor, or the whole cabinet. */
/** Why a controller counts as offline (`details.reason` of a `controller_offline` alarm). */
const OFFLINE_REASONS: Record<string, string> = {
  disconnected: 'connection lost',
  silent: 'nothing heard for 5 minutes',
  site_line_down: "site's line to the hub down",
};

export function alarmPlace(a: { sensor: string | null; details: Record<string, unknown> }): string {
  if (a.sensor?.startsWith('door:')) return `door ${a.sensor.slice(5)}`;
  const doors = a.details.doors;
  if (Array.isArray(doors) && doors.length) return `sensor ${a.sensor} (door ${doors.join(', ')})`;
  if (a.sensor) return `sensor ${a.sensor}`;
  const reason = typeof a.details.reason === 'string' ? OFFLINE_REASONS[a.details.reason] : undefined;
  return reason ? `cabinet (${reason})` : 'cabinet';
}

const EVENT_LABELS: Record<string, string> = {
  'parcel.reserved': 'Parcel created, door reserved',
  'code.issued': 'Code issued',
  'code.accepted': 'Code accepted',
  'code.rejected': 'Code refused',
  'code.used_offline': 'Code used while offline',
  'door.opened': 'Door opened',
  'door.closed': 'Door closed',
  'parcel.stored': 'Deposited',
  'parcel.ready': 'Ready for pickup',
  'parcel.picked_up': 'Picked up',
  'parcel.expired': 'Expired',
  'parcel.cancelled': 'Cancelled',
  'parcel.returned': 'Returned',
  'parcel.retrieved_by_producer': 'Taken back by the producer',
  'parcel.quarantined': 'Quarantined (temperature)',
  'parcel.released': 'Released from quarantine',
  'parcel.discarded': 'Discarded',
  'parcel.in_transit': 'Collected by a driver',
  'parcel.pickup_reminder': 'Pickup reminder sent',
  'transit.scanned': 'Label scanned',
  'transit.flag': 'Round flag',
  'compartment.remote_open': 'Remote open',
  'command.expired': 'Command expired',
  'command.done': 'Cabinet confirmed the command',
  'command.failed': 'Cabinet could not carry out the command',
  'alarm.raised': 'Alarm raised',
  'alarm.acknowledged': 'Alarm acknowledged',
  'alarm.cleared': 'Alarm cleared',
  'alarm.renotified': 'Alarm re-notified',
  'locker.online': 'Cabinet online',
  'locker.offline': 'Cabinet offline',
  'site.line_down': "Site's line to the hub down",
  'site.line_up': "Site's line to the hub back",
  'device.scan': 'Label scanned at the cabinet',
  'driver.arrived': 'Driver arrived',
  'offline.unlock': 'Opened offline',
  'offline.conflict': 'Offline conflict',
};

/** An event in words; an alarm event says which alarm. */
export function eventLabel(type: string, data: Record<string, unknown> = {}): string {
  const known = EVENT_LABELS[type];
  if (known && type.startsWith('alarm.') && typeof data.kind === 'string')
    return `${known}: ${alarmLabel(data.kind)}`;
  if (known && type.startsWith('site.') && typeof data.site === 'string') return `${known} (${data.site})`;
  if (known) return known;
  const words = type.replace(/^device\./, '').replace(/[._]/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Who did it, in words: `token:…` actors carry no name, so the event's data is read first. */
export function actorLabel(actor: string, data: Record<string, unknown> = {}): string {
  if (typeof data.by === 'string') return data.by;
  if (typeof data.operator === 'string') return data.operator;
  if (typeof data.name === 'string' && actor.startsWith('token:')) return data.name;
  if (actor.startsWith('device:')) return `cabinet ${actor.slice(7)}`;
  if (actor.startsWith('driver:'))
    return typeof data.driver === 'string' ? `driver ${data.driver}` : 'driver';
  if (actor.startsWith('token:')) return 'API token';
  return actor;
}

export const STATE_LABELS: Record<string, string> = {
  reserved: 'Awaiting deposit',
  stored: 'In the locker',
  in_transit: 'In transit',
  ready: 'Ready for pickup',
  picked_up: 'Picked up',
  expired: 'Expired',
  cancelled: 'Cancelled',
  quarantined: 'Quarantined',
  discarded: 'Discarded',
  returned: 'Returned',
  retrieved_by_producer: 'Taken back by the producer',
};

export const stateLabel = (s: string) => STATE_LABELS[s] ?? s.replace(/_/g, ' ');
