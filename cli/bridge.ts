/** `casier bridge` and `casier bridge selftest`: flags, environment and config file. */
import { z } from 'zod';
import { BOARDS } from '../devices/profiles/schema.ts';
import { parseLockerKey } from '../devices/topics.ts';
import { type BuzzerSpec, parseBuzzer } from '../firmware-bridge/kiosk/buzzer.ts';
import { type CommandSpec, type ParsedArgs, UsageError } from './args.ts';
import { json, table, untilSignal } from './output.ts';

const lockerRef = z.string().transform((s, ctx) => {
  const ref = parseLockerKey(s);
  if (!ref) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected <site>/<locker>, ids of lowercase letters, digits and dashes',
    });
    return z.NEVER;
  }
  return ref;
});

/** "keypad=evdev:/dev/input/event3", "scanner=lines:/dev/ttyACM0" → input specs */
const inputs = z.array(z.string()).transform((list, ctx) =>
  list.flatMap((s) => {
    const m = /^(keypad|scanner)=(evdev|lines):(.+)$/.exec(s.trim());
    if (!m) {
      ctx.addIssue({ code: 'custom', message: `"${s}" is not <keypad|scanner>=<evdev|lines>:<path>` });
      return [];
    }
    return [{ kind: m[1] as 'keypad' | 'scanner', source: m[2] as 'evdev' | 'lines', path: m[3] as string }];
  }),
);

/** "0:open-high,1:open-low" → { 0: 'open-high', 1: 'open-low' } */
const polarity = z.string().transform((s, ctx) => {
  const out: Record<number, 'open-high' | 'open-low'> = {};
  for (const part of s.split(',')) {
    const m = /^(\d{1,2}):(open-high|open-low)$/.exec(part.trim());
    if (!m || Number(m[1]) > 15) {
      ctx.addIssue({ code: 'custom', message: `"${part}" is not <board 0-15>:<open-high|open-low>` });
      return z.NEVER;
    }
    out[Number(m[1])] = m[2] as 'open-high' | 'open-low';
  }
  return out;
});

const bridgeFlags = {
  serial: {
    type: 'string',
    env: 'CASIER_BRIDGE_SERIAL',
    help: 'the board: a serial device (/dev/ttyUSB0) or tcp://host:port',
  },
  driver: {
    type: 'string',
    env: 'CASIER_BRIDGE_DRIVER',
    help: `board protocol: ${BOARDS.join(', ')}`,
    schema: z.enum(BOARDS),
  },
  profile: {
    type: 'string',
    env: 'CASIER_BRIDGE_PROFILE',
    help: 'cabinet profile: a built-in name (see casier profiles) or your own file (./my-cabinet.json)',
  },
  'mqtt-url': {
    type: 'string',
    env: 'CASIER_BRIDGE_MQTT_URL',
    help: "the hub's broker, mqtt://host:1883",
    schema: z.url({ protocol: /^mqtts?$/ }),
  },
  locker: {
    type: 'string',
    env: 'CASIER_BRIDGE_LOCKER',
    help: 'this cabinet, <site>/<locker>',
    schema: lockerRef,
  },
  password: {
    type: 'string',
    env: 'CASIER_BRIDGE_PASSWORD',
    help: 'the MQTT password printed by casier device add',
  },
  'data-dir': {
    type: 'string',
    env: 'CASIER_BRIDGE_DATA_DIR',
    default: '.casier-bridge',
    help: 'outbox and executed commands',
  },
  baud: {
    type: 'string',
    env: 'CASIER_BRIDGE_BAUD',
    help: 'serial speed (default 115200, kr-cu16 19200)',
    schema: z.coerce.number().int().positive(),
  },
  'kr-polarity': {
    type: 'string',
    env: 'CASIER_BRIDGE_KR_POLARITY',
    help: 'KR-CU16 lock-bit polarity per board, e.g. 0:open-high,1:open-low (default open-low: bit set = locked)',
    schema: polarity,
  },
  input: {
    type: 'string',
    multiple: true,
    env: 'CASIER_BRIDGE_INPUTS',
    help: 'a keypad or scanner on the Pi, replacing those of the profile: <keypad|scanner>=<evdev|lines>:<path>; repeatable',
    schema: inputs,
  },
  'telemetry-buffer': {
    type: 'string',
    env: 'CASIER_BRIDGE_TELEMETRY_BUFFER',
    default: '10000',
    help: 'telemetry messages kept through an outage; the oldest go first',
    schema: z.coerce.number().int().min(1).max(10_000_000),
  },
  'site-broker': {
    type: 'boolean',
    env: 'CASIER_BRIDGE_SITE_BROKER',
    help: "--mqtt-url is the site's own broker: follow its line to the hub, offline codes while it is down",
    // From CASIER_BRIDGE_SITE_BROKER or the config file it comes as text.
    schema: z
      .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
      .transform((x) => x === true || x === 'true' || x === '1'),
  },
  kiosk: {
    type: 'string',
    env: 'CASIER_BRIDGE_KIOSK',
    help: "serve a screen and keypad page for the Pi's touchscreen on this loopback address, e.g. 127.0.0.1:8089",
    schema: z
      .string()
      .regex(/^(127\.0\.0\.1|localhost|\[::1\]):\d{1,5}$/, 'a loopback host:port, e.g. 127.0.0.1:8089')
      .transform((s) => {
        const at = s.lastIndexOf(':');
        return { host: s.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(s.slice(at + 1)) };
      }),
  },
  buzzer: {
    type: 'string',
    env: 'CASIER_BRIDGE_BUZZER',
    help: "a buzzer on the Pi's GPIO, driven with gpioset: <chip>:<line>, e.g. gpiochip0:18",
    schema: z.string().transform((s, ctx) => {
      const spec = parseBuzzer(s);
      if (!spec) ctx.addIssue({ code: 'custom', message: 'expected <chip>:<line>, e.g. gpiochip0:18' });
      return spec as BuzzerSpec;
    }),
  },
  config: {
    type: 'string',
    env: 'CASIER_BRIDGE_CONFIG',
    help: 'a JSON file with any of these options, keyed by flag name',
  },
  'log-level': {
    type: 'string',
    env: 'CASIER_LOG_LEVEL',
    default: 'info',
    help: 'log level',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  },
  json: { type: 'boolean', help: 'machine-readable output (selftest)' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
} as const satisfies CommandSpec['flags'];

function bridgeConfig(args: ParsedArgs) {
  const v = args.values;
  const missing = ['serial', 'driver', 'profile', 'mqtt-url', 'locker', 'password'].filter(
    (k) => v[k] === undefined,
  );
  if (missing.length)
    throw new UsageError(
      `missing ${missing.map((m) => `--${m}`).join(', ')} (flags, CASIER_BRIDGE_* variables or --config)`,
    );
  return {
    serial: v.serial as string,
    driver: v.driver as (typeof BOARDS)[number],
    profile: v.profile as string,
    mqttUrl: v['mqtt-url'] as string,
    locker: v.locker as { site: string; locker: string },
    password: v.password as string,
    dataDir: v['data-dir'] as string,
    baud: v.baud as number | undefined,
    krPolarity: v['kr-polarity'] as Record<number, 'open-high' | 'open-low'> | undefined,
    telemetryBuffer: v['telemetry-buffer'] as number,
    siteBroker: v['site-broker'] === true,
    inputs: v.input as
      | Array<{ kind: 'keypad' | 'scanner'; source: 'evdev' | 'lines'; path: string }>
      | undefined,
    kiosk: v.kiosk as { host: string; port: number } | undefined,
    buzzer: v.buzzer as BuzzerSpec | undefined,
    logLevel: v['log-level'] as string,
  };
}

export const bridgeCommands: CommandSpec[] = [
  {
    name: 'bridge selftest',
    usage: 'bridge selftest [options]',
    summary:
      'Check a cabinet: pulse each lock, read each door contact and sensor, try the hub credentials, print a table. Stop the bridge first.',
    flags: bridgeFlags,
    async run(args) {
      const { selftest } = await import('../firmware-bridge/run.ts');
      const rows = await selftest(bridgeConfig(args));
      if (args.values.json) json(rows);
      else table(rows as unknown as Record<string, unknown>[], ['part', 'channel', 'result', 'detail']);
      return rows.every((r) => r.result === 'ok') ? 0 : 1;
    },
  },
  {
    name: 'bridge',
    usage: `bridge --serial <path|tcp://host:port> --driver <${BOARDS.join('|')}> --profile <name|file> --mqtt-url <url> --locker <site>/<locker> --password <secret> [options]`,
    summary:
      "Run the firmware bridge on a cabinet's Pi: the board on a serial line, the hub over MQTT, a durable outbox in between.",
    flags: bridgeFlags,
    async run(args) {
      const { runBridge } = await import('../firmware-bridge/run.ts');
      return runBridge(bridgeConfig(args), untilSignal());
    },
  },
];
