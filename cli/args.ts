/**
 * Flag parsing for every command: node:util parseArgs (strict: an unknown flag is an error),
 * then each value from flag, environment or default, validated by zod. A bad flag or value is a
 * one-line `casier: …` error and exit code 2.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { columns, HELP_WIDTH, wrap } from './output.ts';

export class UsageError extends Error {}

export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** May be given several times; from the environment, comma-separated; from a file, an array. */
  multiple?: boolean;
  /** Environment variable that supplies the value when the flag is absent. */
  env?: string;
  default?: string | boolean;
  help: string;
  schema?: z.ZodType;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  positionals?: { name: string; help: string }[];
  flags: Record<string, FlagSpec>;
  run: (args: ParsedArgs) => Promise<number | undefined> | number | undefined;
}

export interface ParsedArgs {
  positionals: string[];
  values: Record<string, unknown>;
}

export const port = z.coerce.number().int().min(0).max(65535);

/**
 * Flag, then environment, then `file` (a config file's values, keyed by flag name), then default.
 */
export function parseCommandArgs(
  spec: CommandSpec,
  argv: string[],
  env: NodeJS.ProcessEnv,
  file: Record<string, unknown> = {},
): ParsedArgs {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, f] of Object.entries(spec.flags)) {
    options[name] = {
      type: f.type,
      ...(f.short ? { short: f.short } : {}),
      ...(f.multiple ? { multiple: true } : {}),
    };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split(/\. |\n/)[0]} (see casier ${spec.name} --help)`);
  }
  const expected = spec.positionals?.length ?? 0;
  if (parsed.positionals.length !== expected) {
    throw new UsageError(
      `${spec.name} takes ${expected ? spec.positionals?.map((p) => `<${p.name}>`).join(' ') : 'no arguments'} (see casier ${spec.name} --help)`,
    );
  }
  const values: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(spec.flags)) {
    const fromFlag = parsed.values[name];
    const envText = f.env ? env[f.env] : undefined;
    const fromEnv =
      envText === undefined || envText === '' ? undefined : f.multiple ? envText.split(',') : envText;
    const inFile = file[name];
    const fromFile =
      inFile === undefined ? undefined : f.multiple ? [inFile].flat().map(String) : String(inFile);
    const raw = fromFlag ?? fromEnv ?? fromFile ?? f.default;
    if (raw === undefined) continue;
    if (!f.schema) {
      values[name] = raw;
      continue;
    }
    const r = f.schema.safeParse(raw);
    if (!r.success) {
      const source =
        fromFlag !== undefined
          ? `--${name}`
          : fromEnv
            ? f.env
            : fromFile !== undefined
              ? `config ${name}`
              : `--${name}`;
      throw new UsageError(
        `${source}: ${r.error.issues[0]?.message ?? 'invalid value'} (got ${JSON.stringify(raw)})`,
      );
    }
    values[name] = r.data;
  }
  return { positionals: parsed.positionals, values };
}

/**
 * A usage line cut into words that stay together: a bracketed group (`[--state <state>]`) and a
 * flag with its value (`--profile <name>`).
 */
function usageWords(usage: string): string[] {
  const words: string[] = [];
  const push = (w: string) => {
    const last = words.length - 1;
    if (w.startsWith('<') && words[last]?.startsWith('--')) words[last] += ` ${w}`;
    else if (w) words.push(w);
  };
  let depth = 0;
  let word = '';
  for (const ch of usage) {
    if (ch === '[' || ch === '<') depth++;
    if (ch === ']' || ch === '>') depth--;
    if (ch === ' ' && depth === 0) {
      push(word);
      word = '';
    } else word += ch;
  }
  push(word);
  return words;
}

/** `casier <usage>`, wrapped at a word and indented under its first argument when too long. */
function usageLines(usage: string, width: number): string[] {
  const [command, ...words] = usageWords(`casier ${usage}`);
  const head = [command];
  // The command's name (`casier broker mosquitto-acl`) is the hanging indent.
  while (words[0] && !/^[-<[]/.test(words[0])) head.push(words.shift() as string);
  const indent = head.join(' ').length + 1;
  const lines: string[] = [];
  let line = head.join(' ');
  for (const w of words) {
    if (line.length + 1 + w.length > width && line.length > indent) {
      lines.push(line);
      line = `${' '.repeat(indent)}${w}`;
    } else line = `${line} ${w}`;
  }
  return [...lines, line];
}

export function helpText(spec: CommandSpec, width = HELP_WIDTH): string {
  const args: Array<[string, string]> = (spec.positionals ?? []).map((p) => [`<${p.name}>`, p.help]);
  const flags = Object.entries(spec.flags).map(([name, f]): [string, string] => {
    const extra = [
      f.env ? `env ${f.env}` : '',
      f.default !== undefined && f.default !== false ? `default ${f.default}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    return [
      `${f.short ? `-${f.short}, ` : ''}--${name}${f.type === 'string' ? ' <value>' : ''}`,
      f.help + (extra ? ` (${extra})` : ''),
    ];
  });
  // One layout for arguments and options, so that both descriptions start in the same column.
  const laid = columns([...args, ...flags], width);
  const lines = [...usageLines(spec.usage, width), '', ...wrap(spec.summary, width), ''];
  if (args.length) lines.push('Arguments:', ...laid.slice(0, args.length), '');
  lines.push('Options:', ...laid.slice(args.length));
  return lines.join('\n');
}
