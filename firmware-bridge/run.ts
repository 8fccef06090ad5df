/** The bridge's composition root: line, driver, outbox and bridge wired from a validated config. */

import { existsSync, readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import pino from 'pino';
import { type InputSpec, type LockerRef, resolveProfile } from '../devices/index.ts';
import { Bridge } from './bridge.ts';
import { CasierDriver } from './drivers/casier.ts';
import { KrCu16Driver, type Polarity } from './drivers/kr-cu16.ts';
import type { BoardDriver, SelftestRow } from './drivers/types.ts';
import { type BuzzerSpec, GpioBuzzer } from './kiosk/buzzer.ts';
import { Kiosk } from './kiosk/kiosk.ts';
import { type Line, openLine } from './line.ts';
import { Outbox } from './outbox.ts';

export interface BridgeConfig {
  serial: string;
  driver: 'casier' | 'kr-cu16' | 'firmata';
  profile: string;
  mqttUrl: string;
  locker: LockerRef;
  password: string;
  dataDir: string;
  baud?: number;
  krPolarity?: Record<number, Polarity>;
  telemetryBuffer?: number;
  inputs?: InputSpec[];
  siteBroker?: boolean;
  /** Serve the kiosk screen on this loopback address (firmware-bridge/kiosk). */
  kiosk?: { host: string; port: number };
  /** A buzzer on the Pi's GPIO (firmware-bridge/kiosk/buzzer.ts). */
  buzzer?: BuzzerSpec;
  logLevel: string;
}

/** How often a running bridge checks that its serial device is still there. */
const DEVICE_WATCH_MS = 2000;

const DEFAULT_BAUD = { casier: 115200, 'kr-cu16': 19200, firmata: 57600 } as const;

/** The cabinet's profile: a built-in one by name, or an installer's file. */
const profileOf = (c: BridgeConfig) => resolveProfile(c.profile, (path) => readFileSync(path, 'utf8'));

async function openDriver(
  c: BridgeConfig,
  profile = profileOf(c),
): Promise<{ driver: BoardDriver; line: Line }> {
  const line = await openLine(c.serial, c.baud ?? DEFAULT_BAUD[c.driver]);
  if (c.driver === 'kr-cu16')
    return { line, driver: new KrCu16Driver(line, profile, { polarity: c.krPolarity }) };
  if (c.driver === 'firmata') {
    // Loaded only here: johnny-five is heavy and only Firmata cabinets need it.
    const { FirmataDriver } = await import('./drivers/firmata.ts');
    return { line, driver: new FirmataDriver(line, profile) };
  }
  return { line, driver: new CasierDriver(line, profile) };
}

export async function runBridge(c: BridgeConfig, until: Promise<void>): Promise<number> {
  const log = pino({
    level: c.logLevel,
    base: { svc: 'bridge', locker: `${c.locker.site}/${c.locker.locker}` },
  });
  const profile = profileOf(c);
  const outbox = new Outbox(c.dataDir);
  const { driver, line } = await openDriver(c, profile);
  // A line that closes under a running bridge (the USB adapter pulled, a converter gone) is not
  // opened again here: the bridge stops with 1, and the service manager starts it afresh on the
  // device once it is back (deploy/casier-bridge.service: Restart=always), its outbox on disk.
  let stopping = false;
  let watch: NodeJS.Timeout | undefined;
  const lost = new Promise<Error>((resolve) => {
    line.onClose((err) => {
      if (!stopping) resolve(err ?? new Error('the port closed'));
    });
    // A USB adapter pulled takes its device node with it. serialport may hear of it only at the
    // next write (an idle cabinet writes nothing for hours), spinning on the hung-up line
    // meanwhile: the node's absence says so within DEVICE_WATCH_MS.
    if (!c.serial.startsWith('tcp://'))
      watch = setInterval(() => {
        if (!existsSync(c.serial)) resolve(new Error(`${c.serial} is gone`));
      }, DEVICE_WATCH_MS);
  });
  const bridge = new Bridge({
    locker: c.locker,
    password: c.password,
    mqttUrl: c.mqttUrl,
    profile,
    driver,
    outbox,
    log,
    telemetryBuffer: c.telemetryBuffer,
    inputs: c.inputs,
    siteBroker: c.siteBroker,
    kiosk: c.kiosk ? new Kiosk(c.kiosk) : undefined,
    buzzer: c.buzzer
      ? new GpioBuzzer(c.buzzer, { onError: (err) => log.warn({ err }, 'buzzer: gpioset failed') })
      : undefined,
  });
  await bridge.start();
  log.info(
    { bootId: bridge.bootId, serial: c.serial, driver: c.driver, outbox: outbox.size },
    'bridge started',
  );
  const stats = setInterval(() => log.info(bridge.counters, 'bridge counters'), 60_000);
  stats.unref();
  const cause = await Promise.race([until.then(() => undefined), lost]);
  stopping = true;
  clearInterval(stats);
  clearInterval(watch);
  if (cause) {
    log.error(
      { err: cause, serial: c.serial },
      'serial line lost: stopping for the service manager to restart the bridge',
    );
    bridge.record({ type: 'board.fault', code: 'serial_lost', detail: cause.message.slice(0, 256) });
  }
  // What this boot journalled and what is still unacknowledged, read before the outbox closes.
  const counters = bridge.counters;
  await bridge.stop();
  log.info({ bootId: bridge.bootId, ...counters }, 'bridge stopped');
  return cause ? 1 : 0;
}

/** Pulses each lock, reads each contact and sensor, and checks the hub accepts the credentials. */
export async function selftest(c: BridgeConfig): Promise<SelftestRow[]> {
  const rows: SelftestRow[] = [];
  const { driver } = await openDriver(c);
  try {
    await driver.start();
    rows.push(...(await driver.selftest()));
  } finally {
    await driver.stop();
  }
  const hub = await mqtt
    .connectAsync(c.mqttUrl, {
      username: `${c.locker.site}/${c.locker.locker}`,
      password: c.password,
      clientId: `${c.locker.site}/${c.locker.locker}`,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    })
    .then(
      async (client) => {
        await client.endAsync();
        return { result: 'ok' as const, detail: 'credentials accepted' };
      },
      (err: Error) => ({ result: 'failed' as const, detail: err.message }),
    );
  rows.push({ part: 'hub', channel: c.mqttUrl, ...hub });
  return rows;
}
