/**
 * `casier <command>`: the composition root of the command line. Each command loads what it needs
 * lazily, so `casier profiles` does not start a broker and `casier --help` stays fast.
 */
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { PARCEL_STATES } from '../devices/api.ts';
import { isTimeZone, LANGUAGES, type Language } from '../devices/i18n.ts';
import { ID_PATTERN, ID_SOURCE, parseLockerKey } from '../devices/topics.ts';
import { DEFAULT_PRE_LOGIN_LIMITS, PRE_LOGIN_KEYS, type PreLoginLimits } from '../hub/broker/pre-login.ts';
import {
  DEFAULT_REMOTE_OPEN_BUDGET,
  REMOTE_OPEN_BUDGET_KEYS,
  type RemoteOpenBudget,
} from '../hub/domain/remote-open-budget.ts';
import { accessCommands } from './access.ts';
import { type CommandSpec, helpText, type ParsedArgs, parseCommandArgs, port, UsageError } from './args.ts';
import { bridgeCommands } from './bridge.ts';
import { columns, json, out, table, untilSignal } from './output.ts';

const common = {
  'data-dir': {
    type: 'string',
    env: 'CASIER_DATA_DIR',
    default: '.casier',
    help: 'where the hub keeps its store and key',
  },
  json: { type: 'boolean', help: 'machine-readable output' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
} as const satisfies CommandSpec['flags'];

/** The hub's two listeners, shared by `hub` and `demo`. */
const listeners = {
  'http-port': {
    type: 'string',
    env: 'CASIER_HTTP_PORT',
    default: '8080',
    help: 'HTTP API port',
    schema: port,
  },
  'mqtt-port': {
    type: 'string',
    env: 'CASIER_MQTT_PORT',
    default: '1883',
    help: 'embedded MQTT broker port',
    schema: port,
  },
} as const satisfies CommandSpec['flags'];

/** A broker account, as `hub/broker/mosquitto.ts` accepts it. */
const USER = '[A-Za-z0-9._-]{1,64}';
/** `--site-link <user>:<site>` */
const SITE_LINK = new RegExp(`^${USER}:${ID_SOURCE}$`);
/** `--hub <user>[:<site>,<site>…]` */
const HUB_ACCOUNT = new RegExp(`^${USER}(:${ID_SOURCE}(,${ID_SOURCE})*)?$`);

/** Private or loopback hosts the hub may still send to, shared by `hub` and `audit anchor`. */
const outboundAllow = {
  type: 'string',
  env: 'CASIER_OUTBOUND_ALLOW',
  help: 'private or loopback hosts and addresses webhooks and anchors may go to, comma-separated (none by default)',
  schema: z.string().transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  ),
} as const satisfies CommandSpec['flags'][string];

/**
 * `name=value,…` of whole numbers, each name one of `names`: what an installer changes of a set of
 * limits, the rest keeping their defaults.
 */
function limits<const K extends string>(names: readonly K[]) {
  return z.string().transform((text, ctx) => {
    const out: Partial<Record<K, number>> = {};
    for (const part of text
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean)) {
      const m = /^([A-Za-z]+)=(\d{1,9})$/.exec(part);
      const name = m?.[1] as K | undefined;
      if (!m || !name || !names.includes(name) || Number(m[2]) < 1) {
        ctx.addIssue({
          code: 'custom',
          message: `${JSON.stringify(part)}: expected name=number (at least 1), the names being ${names.join(', ')}`,
        });
        return z.NEVER;
      }
      if (name in out) {
        ctx.addIssue({ code: 'custom', message: `${name} is given twice` });
        return z.NEVER;
      }
      out[name] = Number(m[2]);
    }
    return out;
  });
}

const budgetDefaults = REMOTE_OPEN_BUDGET_KEYS.map((k) => `${k}=${DEFAULT_REMOTE_OPEN_BUDGET[k]}`).join(', ');
const preLoginDefaults = PRE_LOGIN_KEYS.map((k) => `${k}=${DEFAULT_PRE_LOGIN_LIMITS[k]}`).join(', ');

/** Where an anchor of the ledger goes (hub/domain/audit-anchor.ts checks it whole). */
const anchorTarget = z.string().regex(/^(file:\/|https?:\/\/)/, 'expected file:/path or an http(s):// URL');

const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/**
 * The store in `--data-dir`. Commands that only read one refuse a directory that holds none: a
 * mistyped path must not become an empty store whose ledger then verifies "ok: 0 events".
 * `create`: for the commands that set a store up (device add, token create).
 */
async function store(args: ParsedArgs, opts: { create?: boolean } = {}) {
  const dir = args.values['data-dir'] as string;
  const { join } = await import('node:path');
  if (!opts.create && !existsSync(join(dir, 'casier.db')))
    throw new UsageError(
      `--data-dir: ${dir} holds no casier store (no casier.db); give the hub's data directory`,
    );
  const { openStore } = await import('../hub/store.ts');
  return openStore(dir);
}

export const COMMANDS: CommandSpec[] = [
  {
    name: 'hub',
    usage: 'hub [options]',
    summary: 'Run the hub: embedded MQTT broker (or an external one), store, rules and HTTP API.',
    flags: {
      ...listeners,
      host: {
        type: 'string',
        env: 'CASIER_HOST',
        default: '127.0.0.1',
        help: 'address to listen on (0.0.0.0 for cabinets on the network)',
        schema: z.ipv4().or(z.ipv6()),
      },
      'mqtt-url': {
        type: 'string',
        env: 'CASIER_MQTT_URL',
        help: 'use this external broker instead of the embedded one',
        schema: z.url({ protocol: /^mqtts?$/ }),
      },
      'mqtt-username': {
        type: 'string',
        env: 'CASIER_MQTT_USERNAME',
        help: "the hub's username on the external broker",
      },
      'mqtt-password': {
        type: 'string',
        env: 'CASIER_MQTT_PASSWORD',
        help: "the hub's password on the external broker",
      },
      'mqtt-ca': {
        type: 'string',
        env: 'CASIER_MQTT_CA',
        help: "PEM file of the authority that signed the external broker's certificate (mqtts://)",
        schema: z.string().refine(existsSync, 'no such file'),
      },
      sites: {
        type: 'string',
        env: 'CASIER_SITES',
        help: 'comma-separated sites this hub owns on a shared broker (default: all)',
        schema: z
          .string()
          .transform((s) =>
            s
              .split(',')
              .map((x) => x.trim())
              .filter(Boolean),
          )
          .pipe(z.array(z.string().regex(ID_PATTERN, 'not a site id')).min(1)),
      },
      language: {
        type: 'string',
        env: 'CASIER_LANGUAGE',
        default: 'en',
        help: "what keypads say where their site has none of its own: fr or en (a site's: PUT /api/v1/sites/{id}/settings)",
        schema: z.enum(LANGUAGES),
      },
      'public-url': {
        type: 'string',
        env: 'CASIER_PUBLIC_URL',
        help: "where customers reach this hub, the start of their parcel pages' links (https://lockers.example); default: its own address",
        schema: z.url({ protocol: /^https?$/ }),
      },
      'time-zone': {
        type: 'string',
        env: 'CASIER_TIME_ZONE',
        help: "the IANA time zone (Europe/Paris) of sites without one of their own; default: the machine's",
        schema: z.string().refine(isTimeZone, 'not an IANA time zone such as Europe/Paris'),
      },
      'metrics-token': {
        type: 'string',
        env: 'CASIER_METRICS_TOKEN',
        help: '/metrics answers only requests with this bearer token (a scraper keeps it)',
        schema: z.string().min(16, 'at least 16 characters'),
      },
      'source-maps': {
        type: 'boolean',
        env: 'CASIER_SOURCE_MAPS',
        help: "serve the dashboard's source maps (development only)",
        // From CASIER_SOURCE_MAPS it comes as text.
        schema: z
          .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
          .transform((x) => x === true || x === 'true' || x === '1'),
      },
      'outbound-allow': outboundAllow,
      'audit-anchor': {
        type: 'string',
        env: 'CASIER_AUDIT_ANCHOR',
        help: "anchor the ledger's head every hour: file:/path (appended, JSON Lines) or an http(s) URL (POST)",
        schema: anchorTarget,
      },
      'remote-open-budget': {
        type: 'string',
        env: 'CASIER_REMOTE_OPEN_BUDGET',
        help: `remote opens allowed before a site's are suspended, e.g. perSitePerDay=120 (defaults: ${budgetDefaults})`,
        schema: limits(REMOTE_OPEN_BUDGET_KEYS),
      },
      'mqtt-pre-login': {
        type: 'string',
        env: 'CASIER_MQTT_PRE_LOGIN',
        help: `bounds on MQTT connections not logged in yet, e.g. perAddress=64 for many cabinets behind one NAT (defaults: ${preLoginDefaults})`,
        schema: limits(PRE_LOGIN_KEYS),
      },
      'code-digits': {
        type: 'string',
        env: 'CASIER_CODE_DIGITS',
        default: '8',
        help: 'digits in keypad codes',
        schema: z.coerce.number().int().min(6).max(12),
      },
      'log-level': {
        type: 'string',
        env: 'CASIER_LOG_LEVEL',
        default: 'info',
        help: 'log level',
        schema: logLevel,
      },
      'retention-raw-days': {
        type: 'string',
        env: 'CASIER_RETENTION_RAW_DAYS',
        default: '90',
        help: 'days raw readings are kept',
        schema: z.coerce.number().int().min(1).max(3650),
      },
      'retention-aggregate-days': {
        type: 'string',
        env: 'CASIER_RETENTION_AGGREGATE_DAYS',
        default: '400',
        help: 'days 5-minute aggregates are kept',
        schema: z.coerce.number().int().min(1).max(3650),
      },
      'smtp-url': {
        type: 'string',
        env: 'CASIER_SMTP_URL',
        help: 'SMTP server for alarm e-mails and customer notices: smtp://user:password@host:587 (smtps:// for TLS)',
        schema: z.url({ protocol: /^smtps?$/ }),
      },
      'mail-from': {
        type: 'string',
        env: 'CASIER_MAIL_FROM',
        default: 'casier <casier@localhost>',
        help: 'sender of alarm e-mails and customer notices',
      },
      'sms-url': {
        type: 'string',
        env: 'CASIER_SMS_URL',
        help: 'HTTP gateway for customer SMS: the hub POSTs {"to","text"} as JSON (docs/operations.md)',
        schema: z.url({ protocol: /^https?$/ }),
      },
      'sms-token': {
        type: 'string',
        env: 'CASIER_SMS_TOKEN',
        help: 'bearer token sent to the SMS gateway',
      },
      ...common,
    },
    async run({ values: v }) {
      if (v['mqtt-url'] && v['mqtt-pre-login'])
        throw new UsageError(
          '--mqtt-pre-login bounds the embedded broker; with --mqtt-url, set such bounds in your broker',
        );
      const { startHub } = await import('../hub/service.ts');
      const hub = await startHub({
        dataDir: v['data-dir'] as string,
        host: v.host as string,
        httpPort: v['http-port'] as number,
        mqttPort: v['mqtt-port'] as number,
        mqttUrl: v['mqtt-url'] as string | undefined,
        mqttUsername: v['mqtt-username'] as string | undefined,
        mqttPassword: v['mqtt-password'] as string | undefined,
        mqttCa: v['mqtt-ca'] ? readFileSync(v['mqtt-ca'] as string, 'utf8') : undefined,
        sites: v.sites as string[] | undefined,
        codeDigits: v['code-digits'] as number,
        remoteOpenBudget: v['remote-open-budget'] as Partial<RemoteOpenBudget> | undefined,
        mqttPreLogin: v['mqtt-pre-login'] as Partial<PreLoginLimits> | undefined,
        language: v.language as Language,
        timeZone: v['time-zone'] as string | undefined,
        publicUrl: v['public-url'] as string | undefined,
        outboundAllow: v['outbound-allow'] as string[] | undefined,
        auditAnchor: v['audit-anchor'] as string | undefined,
        metricsToken: v['metrics-token'] as string | undefined,
        sourceMaps: v['source-maps'] === true,
        logLevel: v['log-level'] as string,
        retention: {
          rawDays: v['retention-raw-days'] as number,
          aggregateDays: v['retention-aggregate-days'] as number,
        },
        smtp: v['smtp-url'] ? { url: v['smtp-url'] as string, from: v['mail-from'] as string } : undefined,
        sms: v['sms-url']
          ? { url: v['sms-url'] as string, token: v['sms-token'] as string | undefined }
          : undefined,
      });
      await untilSignal();
      await hub.stop();
      return 0;
    },
  },
  {
    name: 'device add',
    usage: 'device add <site>/<locker> --profile <name|./file.json> [options]',
    summary:
      "Provision a cabinet: creates the site if needed, the locker and its compartments, and prints the controller's MQTT credentials (shown once).",
    positionals: [{ name: 'site>/<locker', help: 'ids: lowercase letters, digits and dashes' }],
    flags: {
      profile: {
        type: 'string',
        help: 'cabinet profile: a built-in name (see casier profiles) or your own file, kept by the hub',
      },
      ...common,
    },
    async run(args) {
      const { parseLockerKey } = await import('../devices/index.ts');

      const ref = parseLockerKey(args.positionals[0] as string);
      if (!ref)
        throw new UsageError(
          `expected <site>/<locker> with ids like "ferme-du-pic/box-1", got ${JSON.stringify(args.positionals[0])}`,
        );
      if (!args.values.profile) throw new UsageError('--profile is required (see casier profiles)');
      const { resolveProfile, isProfileFile } = await import('../devices/index.ts');
      const spec = args.values.profile as string;
      let profile: ReturnType<typeof resolveProfile>;
      try {
        profile = resolveProfile(spec, (path) => readFileSync(path, 'utf8'));
      } catch (err) {
        throw new UsageError(`--profile: ${(err as Error).message}`);
      }
      const s = await store(args, { create: true });
      const { addProfile } = await import('../hub/domain/profiles.ts');
      // One transaction: a cabinet refused (it exists already) leaves no profile behind.
      const dev = s.db.transaction(() => {
        if (isProfileFile(spec)) addProfile(s.db, s.ledger, profile, 'cli', Date.now());
        return s.provisioning.addDevice(ref, profile.name, 'cli');
      })();
      s.db.close();
      if (args.values.json) return json(dev);
      out(`provisioned ${dev.username} (${dev.profile}, ${dev.compartments} compartments)`);
      out(`MQTT username: ${dev.username}`);
      out(`MQTT client id: ${dev.username}`);
      out(`MQTT password: ${dev.password}`);
      out('The password is shown once; only its hash is stored.');
      return 0;
    },
  },
  {
    name: 'profiles',
    usage: 'profiles [--json]',
    summary: 'List the built-in cabinet profiles.',
    flags: { json: common.json, help: common.help },
    async run(args) {
      const { PROFILES } = await import('../devices/index.ts');
      if (args.values.json) return json(PROFILES);
      table(
        PROFILES.map((p) => ({
          name: p.name,
          board: p.board,
          doors: p.compartments.length,
          description: p.description,
        })),
        ['name', 'board', 'doors', 'description'],
      );
      return 0;
    },
  },
  {
    name: 'profiles check',
    usage: 'profiles check <file.json> [--json]',
    summary:
      "Check a cabinet profile you wrote (docs/operations.md, 'Your own cabinet'): the schema, then what its board can wire.",
    positionals: [{ name: 'file.json', help: 'the profile file' }],
    flags: { json: common.json, help: common.help },
    async run(args) {
      const path = args.positionals[0];
      if (!path) throw new UsageError('profiles check needs a file: casier profiles check ./my-cabinet.json');
      const { parseProfile } = await import('../devices/index.ts');
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (err) {
        throw new UsageError(`cannot read ${path}: ${(err as Error).message}`);
      }
      const r = parseProfile(text);
      if (args.values.json) {
        json(r.ok ? { ok: true, profile: r.profile } : r);
        return r.ok ? 0 : 1;
      }
      if (!r.ok) {
        out(`${path}: ${r.problems.length} problem${r.problems.length > 1 ? 's' : ''}`);
        for (const p of r.problems) out(`  ${p}`);
        return 1;
      }
      const p = r.profile;
      out(`${path}: profile ${p.name} is valid (${p.board} board)`);
      table(
        p.compartments.map((c) => ({
          door: c.door,
          size: c.size,
          class: c.temperatureClass,
          sensor: c.sensor ?? '',
          lock: `${c.lock.board}:${c.lock.channel}`,
          contact: c.contact ? `${c.contact.board}:${c.contact.channel}` : '',
        })),
        ['door', 'size', 'class', 'sensor', 'lock', 'contact'],
      );
      return 0;
    },
  },
  {
    name: 'parcels list',
    usage: 'parcels list [--state <state>] [--locker <id>] [--limit <n>] [options]',
    summary: 'List parcels, newest first.',
    flags: {
      state: {
        type: 'string',
        help: 'only parcels in this state',
        schema: z.enum(PARCEL_STATES),
      },
      locker: { type: 'string', help: 'only parcels at this locker' },
      limit: {
        type: 'string',
        default: '50',
        help: 'at most this many',
        schema: z.coerce.number().int().min(1).max(10_000),
      },
      ...common,
    },
    async run(args) {
      const s = await store(args);
      const v = args.values;
      const parcels = s.parcels.list({
        state: v.state as never,
        lockerId: v.locker as string | undefined,
        limit: v.limit as number,
      });
      s.db.close();
      if (v.json) return json(parcels);
      const iso = (ms: number | null) =>
        ms ? new Date(ms).toISOString().slice(0, 19).replace('T', ' ') : '';
      table(
        parcels.map((p) => ({
          id: p.id,
          state: p.state,
          locker: p.lockerId,
          door: p.door,
          class: p.temperatureClass,
          size: p.size,
          recipient: p.recipient.name,
          created: iso(p.createdAt),
          stored: iso(p.storedAt),
        })),
        ['id', 'state', 'locker', 'door', 'class', 'size', 'recipient', 'created', 'stored'],
      );
      return 0;
    },
  },
  {
    name: 'broker mosquitto-acl',
    usage:
      'broker mosquitto-acl [--hub <user>[:<site>,<site>…]]… [--site-link <user>:<site>]… [--site-broker <site>]',
    summary:
      'Print the Mosquitto ACL that keeps each cabinet to its own topics and each hub to its sites (docs/operations.md §9).',
    flags: {
      'site-link': {
        type: 'string',
        multiple: true,
        help: "the account a site's own broker forwards its cabinets' topics with; repeatable",
        schema: z.array(z.string().regex(SITE_LINK, 'expected <user>:<site>')),
      },
      'site-broker': {
        type: 'string',
        help: "the ACL of this site's own broker: its cabinets' lines, and whether its line is up; no hub",
        schema: z.string().regex(ID_PATTERN, 'expected a site id'),
      },
      hub: {
        type: 'string',
        multiple: true,
        help: 'a hub account and the sites it owns (all when none are given); repeatable. Default: casier-hub',
        schema: z.array(z.string().regex(HUB_ACCOUNT, 'expected <user>[:<site>,<site>…]')),
      },
      help: common.help,
    },
    async run({ values: v }) {
      const { mosquittoAcl } = await import('../hub/broker/mosquitto.ts');
      const hubs = ((v.hub as string[] | undefined) ?? (v['site-broker'] ? [] : ['casier-hub'])).map((h) => {
        const [username, sites] = h.split(':') as [string, string | undefined];
        return { username, sites: sites?.split(',') };
      });
      const links = ((v['site-link'] as string[] | undefined) ?? []).map((l) => {
        const [username, site] = l.split(':') as [string, string];
        return { username, site };
      });
      process.stdout.write(mosquittoAcl(hubs, links, v['site-broker'] as string | undefined));
      return 0;
    },
  },
  {
    name: 'broker mosquitto-site-link',
    usage:
      'broker mosquitto-site-link --site <site> --address <host:port> --username <user> [--cafile <path>]',
    summary:
      "Print the `connection` block with which a site's own Mosquitto forwards its cabinets' topics to the central broker (docs/operations.md §9).",
    flags: {
      site: {
        type: 'string',
        help: 'the site whose cabinets connect to this broker',
        schema: z.string().regex(ID_PATTERN, 'expected a site id'),
      },
      address: {
        type: 'string',
        help: 'the central broker, host:port',
        schema: z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'expected host:port'),
      },
      username: {
        type: 'string',
        help: "the site link's account at the central broker",
        schema: z.string().regex(new RegExp(`^${USER}$`), 'expected letters, digits, . _ -'),
      },
      cafile: {
        type: 'string',
        help: "the authority the central broker's certificate is checked against (TLS; plain TCP without)",
        schema: z.string().optional(),
      },
      help: common.help,
    },
    async run({ values: v }) {
      const { mosquittoSiteLink } = await import('../hub/broker/mosquitto.ts');
      const missing = ['site', 'address', 'username'].filter((f) => !v[f]);
      if (missing.length) throw new UsageError(`missing ${missing.map((f) => `--${f}`).join(', ')}`);
      process.stdout.write(
        mosquittoSiteLink({
          site: v.site as string,
          address: v.address as string,
          username: v.username as string,
          cafile: v.cafile as string | undefined,
        }),
      );
      return 0;
    },
  },
  {
    name: 'broker nats-users',
    usage:
      'broker nats-users [--hub <user>[:<site>,…]]… [--cabinet <site>/<locker>]… [--all-cabinets] [options]',
    summary:
      "Print the `authorization` block giving nats-server's MQTT listener the same lanes (docs/operations.md §9).",
    flags: {
      hub: {
        type: 'string',
        multiple: true,
        help: 'a hub account and the sites it owns (all when none are given); repeatable',
        schema: z.array(z.string().regex(HUB_ACCOUNT, 'expected <user>[:<site>,<site>…]')),
      },
      cabinet: {
        type: 'string',
        multiple: true,
        help: 'a cabinet, <site>/<locker>; repeatable',
        schema: z.array(z.string().refine((s) => parseLockerKey(s) !== null, 'expected <site>/<locker>')),
      },
      'all-cabinets': { type: 'boolean', help: 'every cabinet provisioned in the store (--data-dir)' },
      ...common,
    },
    async run(args) {
      const v = args.values;
      const { natsAuthorization } = await import('../hub/broker/nats.ts');
      // The store keeps only hashes: each password is the bcrypt of the one `device add` printed.
      const password = '<bcrypt of its password: nats server passwd>';
      const lockers = ((v.cabinet as string[] | undefined) ?? []).map(
        (c) => c.split('/') as [string, string],
      );
      if (v['all-cabinets']) {
        const s = await store(args);
        for (const l of s.fleet.lockers()) lockers.push([l.siteId, l.id]);
        s.db.close();
      }
      const hubs = ((v.hub as string[] | undefined) ?? ['casier-hub']).map((h) => {
        const [username, sites] = h.split(':') as [string, string | undefined];
        return { kind: 'hub' as const, username, password, sites: sites?.split(',') };
      });
      process.stdout.write(
        natsAuthorization([
          ...hubs,
          ...lockers.map(([site, locker]) => ({ kind: 'locker' as const, site, locker, password })),
        ]),
      );
      return 0;
    },
  },
  {
    name: 'audit verify',
    usage: 'audit verify [--anchor <file>] [options]',
    summary:
      "Verify the event ledger's chain with the hub's key and, with --anchor, against the file's last anchor; exit 1 if anything does not hold.",
    flags: {
      anchor: {
        type: 'string',
        help: 'a file `audit anchor --to file:…` or the hub wrote: the ledger must still hold its last anchor',
        schema: z.string().refine(existsSync, 'no such file'),
      },
      ...common,
    },
    async run(args) {
      const { lastAnchorIn, verifyAgainst } = await import('../hub/domain/audit-anchor.ts');
      const file = args.values.anchor as string | undefined;
      const anchor = file ? lastAnchorIn(file) : undefined;
      if (file && !anchor) throw new UsageError(`--anchor: ${file} holds no anchor`);
      const s = await store(args);
      const r = verifyAgainst(s.db, s.hubKey, anchor);
      s.db.close();
      if (args.values.json) json(r);
      else if (r.ok)
        out(
          `ledger ok: ${r.events} events, last hash ${r.lastHash}` +
            (r.keyedFrom
              ? `; keyed from event ${r.keyedFrom}, the events before it chained by an older casier`
              : '') +
            (r.anchor ? `; the anchor at event ${r.anchor.seq} holds` : ''),
        );
      else out(`ledger BROKEN at event ${r.brokenAt ?? '?'}: ${r.problem} (after ${r.events} good events)`);
      return r.ok ? 0 : 1;
    },
  },
  {
    name: 'audit anchor',
    usage: 'audit anchor --to <file:/path|https://…> [options]',
    summary:
      "Sign the ledger's head (event, hash, count, time) and append it to a file or POST it to a URL, once the ledger verifies, against the file's last anchor too; exit 1 if it does not (docs/operations.md §7).",
    flags: {
      to: {
        type: 'string',
        help: 'file:/path (JSON Lines, appended) or an http(s) URL (POST)',
        schema: anchorTarget,
      },
      'outbound-allow': outboundAllow,
      ...common,
    },
    async run(args) {
      const v = args.values;
      if (!v.to) throw new UsageError('--to <file:/path|https://…> is required');
      const { anchorLedger, lastAnchorIn, parseTarget } = await import('../hub/domain/audit-anchor.ts');
      const { OutboundPolicy } = await import('../hub/domain/notify/outbound.ts');
      let target: ReturnType<typeof parseTarget>;
      try {
        target = parseTarget(v.to as string);
      } catch (err) {
        throw new UsageError(`--to: ${(err as Error).message}`);
      }
      const previous = 'file' in target ? lastAnchorIn(target.file) : undefined;
      const s = await store(args);
      const policy = new OutboundPolicy(v['outbound-allow'] as string[] | undefined);
      const r = await anchorLedger(s.db, s.hubKey, target, policy, Date.now(), previous).finally(() =>
        s.db.close(),
      );
      if (v.json) json(r);
      else if (r.anchor)
        out(
          `anchored event ${r.anchor.seq} (${r.anchor.count} events, hash ${r.anchor.hash}) to ${v.to as string}`,
        );
      else if (r.check.ok) out('nothing to anchor: the ledger is empty');
      else out(`not anchored: ledger BROKEN at event ${r.check.brokenAt ?? '?'}: ${r.check.problem}`);
      return r.check.ok ? 0 : 1;
    },
  },
  {
    name: 'audit key',
    usage: 'audit key [options]',
    summary:
      "Print the public key that checks this hub's anchors (Ed25519, PEM): publish it where the anchors are kept.",
    flags: { ...common },
    async run(args) {
      const { anchorPublicKey, anchorPublicKeyPem } = await import('../hub/domain/audit-anchor.ts');
      const s = await store(args);
      s.db.close();
      if (args.values.json) json({ key: anchorPublicKey(s.hubKey), pem: anchorPublicKeyPem(s.hubKey) });
      else process.stdout.write(anchorPublicKeyPem(s.hubKey));
      return 0;
    },
  },
  {
    name: 'backup',
    usage: 'backup --to <dir> [options]',
    summary: 'Copy the store (online, consistent while the hub runs) and the code key into a new directory.',
    flags: {
      to: { type: 'string', help: 'directory to create; restore by copying its files into a data directory' },
      ...common,
    },
    async run(args) {
      const to = args.values.to as string | undefined;
      if (!to) throw new UsageError('--to <dir> is required');
      const { existsSync, mkdirSync, copyFileSync, chmodSync } = await import('node:fs');
      const { join } = await import('node:path');
      if (existsSync(to)) throw new UsageError(`--to: ${to} already exists; give a new directory`);
      const s = await store(args);
      mkdirSync(to, { recursive: true, mode: 0o700 });
      // SQLite's online backup: a consistent copy even while the hub writes (WAL included).
      await s.db.backup(join(to, 'casier.db'));
      s.db.close();
      copyFileSync(join(args.values['data-dir'] as string, 'hub.key'), join(to, 'hub.key'));
      chmodSync(join(to, 'hub.key'), 0o600);
      if (args.values.json) json({ to, files: ['casier.db', 'hub.key'] });
      else
        out(
          `backup written to ${to} (casier.db, hub.key): keep hub.key secret, without it no code in the backup can be checked`,
        );
      return 0;
    },
  },
  ...accessCommands(common, store),
  ...bridgeCommands,
  {
    name: 'demo',
    usage: 'demo [options]',
    summary:
      'Run the hub with a simulated site: a rural box and a town locker where producers deposit and customers collect every few seconds.',
    flags: {
      ...listeners,
      'data-dir': {
        type: 'string',
        // Not the hub's variable: a demo must never be pointed at a real store by the environment.
        env: 'CASIER_DEMO_DATA_DIR',
        default: '.casier-demo',
        help: 'demo store, cleared at start; a directory that is not one is refused',
      },
      interval: {
        type: 'string',
        default: '3',
        help: 'seconds between simulated visits',
        schema: z.coerce.number().min(0.2).max(600),
      },
      incidents: {
        type: 'string',
        default: '120',
        help: 'seconds between incidents (a compressor fails, a door is forced and left open); 0: none',
        schema: z.coerce.number().min(0).max(86_400),
      },
      help: common.help,
    },
    async run(args) {
      const { runDemo } = await import('./demo.ts');
      return runDemo(args.values as never);
    },
  },
];

/** Values from `--config <file>` (or its variable) for commands that take one. */
async function configFile(
  spec: CommandSpec,
  argv: string[],
  env: NodeJS.ProcessEnv,
): Promise<Record<string, unknown>> {
  if (!spec.flags.config) return {};
  const i = argv.indexOf('--config');
  const path = i >= 0 ? argv[i + 1] : env[spec.flags.config.env ?? ''];
  if (!path) return {};
  const { readFileSync } = await import('node:fs');
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`--config: cannot read ${path}: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new UsageError(`--config: ${path} must hold a JSON object`);
  const unknown = Object.keys(parsed).filter((k) => !(k in spec.flags) || k === 'config');
  if (unknown.length) throw new UsageError(`--config: unknown option ${unknown.join(', ')} in ${path}`);
  return parsed as Record<string, unknown>;
}

/**
 * A summary's first clause, for the list of commands: up to its first `: ` or end of sentence,
 * without the `(docs/…)` reference the command's own help gives.
 */
const headline = (summary: string) =>
  (/^(.*?)(?:[.:](?:\s|$)|$)/.exec(summary)?.[1] ?? summary).replace(/\s*\(docs\/[^)]*\)$/, '');

/** The list of commands, or of those in one group (`casier broker --help`). */
function overview(group?: string): string {
  const listed = COMMANDS.filter((c) => !group || c.name.startsWith(`${group} `));
  return [
    'casier: the controller for connected farm lockers and rural logistics hubs',
    '',
    `Usage: casier ${group ? `${group} <command>` : '<command>'} [options]`,
    '',
    'Commands:',
    ...columns(listed.map((c) => [c.name, headline(c.summary)])),
    '',
    'Run casier <command> --help for the options of a command.',
  ].join('\n');
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
      out(overview());
      return argv.length === 0 ? 2 : 0;
    }
    if (argv[0] === '--version') {
      out('0.1.0');
      return 0;
    }
    // The longest name that matches: `bridge selftest` before `bridge`.
    const spec = COMMANDS.filter((c) => c.name.split(' ').every((w, i) => argv[i] === w)).sort(
      (a, b) => b.name.length - a.name.length,
    )[0];
    if (!spec && COMMANDS.some((c) => c.name.startsWith(`${argv[0]} `))) {
      // A group without its command: `casier broker`, `casier broker --help`.
      const help = argv.length === 2 && (argv[1] === '--help' || argv[1] === '-h');
      if (argv.length === 1 || help) {
        out(overview(argv[0]));
        return help ? 0 : 2;
      }
    }
    if (!spec)
      throw new UsageError(
        `unknown command ${JSON.stringify(argv.slice(0, 2).join(' '))} (see casier --help)`,
      );
    const rest = argv.slice(spec.name.split(' ').length);
    if (rest.includes('--help') || rest.includes('-h')) {
      out(helpText(spec));
      return 0;
    }
    const args = parseCommandArgs(spec, rest, env, await configFile(spec, rest, env));
    return (await spec.run(args)) ?? 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`casier: ${err.message}\n`);
      return 2;
    }
    const e = err as { code?: string; message: string };
    if (typeof e.code === 'string' && e.code.startsWith('HUB_ERR_')) {
      process.stderr.write(`casier: ${e.message} (${e.code})\n`);
      return 1;
    }
    if (e.code === 'EADDRINUSE') {
      process.stderr.write(
        `casier: ${e.message}: another program uses that port; pick another with the port flags\n`,
      );
      return 1;
    }
    process.stderr.write(`casier: ${e.message}\n`);
    return 1;
  }
}
