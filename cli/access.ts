/**
 * `casier token …` and `casier driver …`: who may act, listed, limited, expired and revoked from
 * the hub's machine, with the same store the running hub reads (a revocation reaches its live
 * feeds within a second: the hub checks them against the store).
 */
import { z } from 'zod';
import { ID_PATTERN } from '../devices/topics.ts';
import type { openStore } from '../hub/store.ts';
import { type CommandSpec, type ParsedArgs, UsageError } from './args.ts';
import { json, out, table } from './output.ts';

type Store = ReturnType<typeof openStore>;
type OpenStore = (args: ParsedArgs, opts?: { create?: boolean }) => Promise<Store>;

/** The drivers' side of the store; loaded only by the driver commands. */
async function transitOf(s: Store) {
  const [{ Transit }, { Commands }] = await Promise.all([
    import('../hub/domain/transit.ts'),
    import('../hub/domain/commands.ts'),
  ]);
  return new Transit(s.db, s.ledger, s.codes, new Commands(s.db));
}

const sites = {
  type: 'string',
  help: 'the only sites it may act at, comma-separated (default: every site)',
  schema: z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()))
    .pipe(z.array(z.string().regex(ID_PATTERN, 'a site id: lowercase letters, digits and dashes')).min(1)),
} as const;

/** "30d", "12h", "90m" → ms */
const expires = {
  type: 'string',
  help: 'when it stops working, from now: 30d, 12h, 90m (default: until revoked)',
  schema: z
    .string()
    .regex(/^\d{1,5}[dhm]$/, 'a duration such as 30d, 12h or 90m')
    .transform(
      (s) => Number(s.slice(0, -1)) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[s.at(-1) as 'd' | 'h' | 'm'],
    ),
} as const;

const reason = { type: 'string', help: 'why (kept in the audit trail)' } as const;

const iso = (ms: number | null) => (ms ? new Date(ms).toISOString().slice(0, 16).replace('T', ' ') : '');

export function accessCommands(common: CommandSpec['flags'], store: OpenStore): CommandSpec[] {
  return [
    {
      name: 'token create',
      usage: 'token create --role <role> [--name <name>] [--sites a,b] [--expires 30d] [options]',
      summary: 'Create an API token (shown once), limited to sites and expiring if asked.',
      flags: {
        role: {
          type: 'string',
          help: 'operator, integration, driver or producer',
          schema: z.enum(['operator', 'integration', 'driver', 'producer']),
        },
        name: { type: 'string', help: 'who or what holds it', default: 'cli' },
        sites,
        expires,
        platform: { type: 'string', help: "an integration's platform: its tokens share their parcels" },
        'max-reservations': {
          type: 'string',
          help: 'parcels waiting for their deposit an integration may hold at one site',
          schema: z.coerce.number().int().min(0).max(100_000),
        },
        ...common,
      },
      async run(args) {
        const v = args.values;
        if (!v.role) throw new UsageError('--role is required: operator, integration, driver or producer');
        if (v.role !== 'integration' && (v.platform !== undefined || v['max-reservations'] !== undefined))
          throw new UsageError('--platform and --max-reservations are for integration tokens');
        const s = await store(args, { create: true });
        try {
          const t = s.provisioning.createToken(v.role as never, v.name as string, 'cli', {
            sites: v.sites as string[] | undefined,
            expiresAt: v.expires === undefined ? null : Date.now() + (v.expires as number),
            subject: v.platform as string | undefined,
            maxReservations: v['max-reservations'] as number | undefined,
          });
          if (v.json) return json(t);
          out(t.token);
          return 0;
        } finally {
          s.db.close();
        }
      },
    },
    {
      name: 'token list',
      usage: 'token list [--role <role>] [options]',
      summary: 'List API tokens (never their secret), revoked and expired ones included.',
      flags: {
        role: {
          type: 'string',
          help: 'only this role',
          schema: z.enum(['operator', 'integration', 'driver', 'producer']),
        },
        ...common,
      },
      async run(args) {
        const s = await store(args);
        const tokens = s.provisioning.listTokens({ role: args.values.role as never });
        s.db.close();
        if (args.values.json) return json(tokens);
        const now = Date.now();
        table(
          tokens.map((t) => ({
            id: t.id,
            role: t.role,
            name: t.name,
            sites: t.sites?.join(',') ?? '*',
            created: iso(t.createdAt),
            by: t.createdBy ?? '',
            expires: iso(t.expiresAt),
            state: t.revokedAt
              ? 'revoked'
              : t.expiresAt !== null && t.expiresAt <= now
                ? 'expired'
                : 'active',
          })),
          ['id', 'role', 'name', 'sites', 'created', 'by', 'expires', 'state'],
        );
        return 0;
      },
    },
    {
      name: 'token revoke',
      usage: 'token revoke <id> --reason <why> [--cascade] [options]',
      summary: 'Revoke an API token: refused at once, its live feeds cut within a second.',
      positionals: [{ name: 'id', help: 'the token id (T…), as `token list` shows it' }],
      flags: {
        reason,
        cascade: {
          type: 'boolean',
          help: 'the tokens it created through the API too, and theirs (a stolen token)',
        },
        ...common,
      },
      async run(args) {
        const [id] = args.positionals;
        if (!id) throw new UsageError('give the token id (see casier token list)');
        if (!args.values.reason) throw new UsageError('--reason is required: the audit trail keeps it');
        const s = await store(args);
        try {
          const t = s.provisioning.revokeToken(id, args.values.reason as string, 'cli', {
            cascade: args.values.cascade === true,
          });
          if (args.values.json) return json(t);
          out(`token ${t.id} (${t.role}, ${t.name}) revoked`);
          return 0;
        } finally {
          s.db.close();
        }
      },
    },
    {
      name: 'driver list',
      usage: 'driver list [options]',
      summary: 'List drivers: their round, when their code expires, whether it still works.',
      flags: { ...common },
      async run(args) {
        const s = await store(args);
        const drivers = (await transitOf(s)).drivers(Date.now());
        s.db.close();
        if (args.values.json) return json(drivers);
        table(
          drivers.map((d) => ({
            id: d.id,
            name: d.name,
            // A driver from before rounds existed has none: their code opens nothing until given one.
            sites: d.sites?.join(',') ?? '(no round)',
            expires: iso(d.expiresAt),
            state: d.active ? 'active' : 'revoked or expired',
          })),
          ['id', 'name', 'sites', 'expires', 'state'],
        );
        return 0;
      },
    },
    {
      name: 'driver round',
      usage: 'driver round <id> --sites a,b [options]',
      summary: "Set a driver's round: the sites where their code and their app open doors.",
      positionals: [{ name: 'id', help: 'the driver id (DR…), as `driver list` shows it' }],
      flags: { sites: { ...sites, help: 'the sites of their round, comma-separated' }, ...common },
      async run(args) {
        const [id] = args.positionals;
        if (!id) throw new UsageError('give the driver id (see casier driver list)');
        if (!args.values.sites) throw new UsageError('--sites is required: the sites of their round');
        const s = await store(args);
        try {
          const transit = await transitOf(s);
          const driver = s.db
            .transaction(() => transit.setRound(id, args.values.sites as string[], 'cli', Date.now()))
            .immediate();
          if (args.values.json) return json(driver);
          out(`driver ${id} (${driver.name}): round ${driver.sites?.join(', ')}`);
          return 0;
        } finally {
          s.db.close();
        }
      },
    },
    {
      name: 'driver revoke',
      usage: 'driver revoke <id> --reason <why> [options]',
      summary: "Deactivate a driver: their keypad code and their app's tokens stop working at once.",
      positionals: [{ name: 'id', help: 'the driver id (DR…), as `driver list` shows it' }],
      flags: { reason, ...common },
      async run(args) {
        const [id] = args.positionals;
        if (!id) throw new UsageError('give the driver id (see casier driver list)');
        if (!args.values.reason) throw new UsageError('--reason is required: the audit trail keeps it');
        const s = await store(args);
        try {
          const transit = await transitOf(s);
          s.db
            .transaction(() => transit.revokeDriver(id, args.values.reason as string, 'cli', Date.now()))
            .immediate();
          if (args.values.json) return json({ id, revoked: true });
          out(`driver ${id} revoked: their code and tokens no longer work`);
          return 0;
        } finally {
          s.db.close();
        }
      },
    },
  ];
}
