import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { CasierFramer, decodeMessage, krcu16, schemaFor } from '../devices/index.ts';

const protocol = readFileSync(resolve(import.meta.dirname, '../docs/protocol.md'), 'utf8');
const examples = [...protocol.matchAll(/```json topic=(\S+)\n([\s\S]*?)```/g)].map((m) => ({
  suffix: m[1] as keyof typeof schemaFor,
  text: m[2] as string,
}));

describe('docs/protocol.md', () => {
  it('has an example for every topic suffix', () => {
    expect(new Set(examples.map((e) => e.suffix))).toEqual(new Set(Object.keys(schemaFor)));
  });

  it.each(examples.map((e, i) => [i, e.suffix, e.text] as const))(
    'example %i (%s) matches its schema',
    (_i, suffix, text) => {
      const parsed = schemaFor[suffix].safeParse(JSON.parse(text));
      expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    },
  );

  it('shows a PUBLISH whose bytes decode to what the table says', () => {
    const hex = /```hex\n([\s\S]*?)```/.exec(protocol)?.[1] ?? '';
    expect(hex).not.toBe('');
    const bytes = Buffer.from(hex.replace(/\s+/g, ''), 'hex');
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const packets: mqttPacket.Packet[] = [];
    parser.on('packet', (p) => packets.push(p));
    parser.parse(bytes);
    expect(packets).toHaveLength(1);
    const p = packets[0] as mqttPacket.IPublishPacket;
    expect(p).toMatchObject({
      cmd: 'publish',
      qos: 1,
      retain: false,
      messageId: 10,
      topic: 'casier/v1/ferme/box-1/events',
    });
    const payload = JSON.parse(p.payload.toString());
    expect(schemaFor.events.safeParse(payload).success).toBe(true);
    expect(protocol).toContain(p.payload.toString());
    expect(protocol).toContain(`remaining length ${bytes.length - 3}`);
  });

  const serial = [...protocol.matchAll(/```hex frame=(\S+)\n([\s\S]*?)```/g)].map((m) => ({
    kind: m[1] as string,
    bytes: Uint8Array.from(
      (m[2] as string)
        .trim()
        .split(/\s+/)
        .map((b) => Number.parseInt(b, 16)),
    ),
  }));

  it('shows serial frames that each decode to exactly one valid frame', () => {
    expect(serial.map((f) => f.kind)).toEqual(expect.arrayContaining(['casier', 'kr-request', 'kr-reply']));
    for (const f of serial) {
      if (f.kind === 'casier') {
        const out = new CasierFramer().push(f.bytes);
        expect(out.dropped).toEqual([]);
        expect(out.frames).toHaveLength(1);
        const frame = out.frames[0] as { type: number; payload: Uint8Array };
        expect(decodeMessage(frame.type, frame.payload)).not.toBeNull();
      } else if (f.kind === 'kr-request') {
        expect(krcu16.decodeRequest(f.bytes)).not.toBeNull();
      } else {
        expect(krcu16.decodeStatusReply(f.bytes)).not.toBeNull();
        expect(new krcu16.FixedFramer(krcu16.REPLY_LENGTH).push(f.bytes).frames).toHaveLength(1);
      }
    }
  });
});

const ROOT = resolve(import.meta.dirname, '..');
const TOP = ['devices', 'hub', 'firmware-bridge', 'dashboard', 'simulators', 'test', 'bench', 'docs', 'cli']
  .concat(['deploy', 'bin', '.ci'])
  .map((d) => `${d}/`);

/** What `.gitignore` keeps out of the repo on purpose: outputs a run writes (bench/results/*.json). */
const ignoredBy = readFileSync(resolve(ROOT, '.gitignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#') && !l.startsWith('!'))
  .map((l) => {
    const glob = l.replace(/^\/|\/$/g, '');
    const re = new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
    // A pattern with a slash is anchored at the root; one without matches any name in the path.
    return glob.includes('/') ? (p: string) => re.test(p) : (p: string) => re.test(p.split('/').at(-1) ?? '');
  });

/** `a/b/c` is ignored if `a`, `a/b` or `a/b/c` is. */
const ignored = (path: string) =>
  path
    .split('/')
    .map((_, i, parts) => parts.slice(0, i + 1).join('/'))
    .some((prefix) => ignoredBy.some((match) => match(prefix)));

describe('README.md and docs/', () => {
  const docs = [
    'README.md',
    ...readdirSync(resolve(ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  // Inline code that starts with a top-level directory, up to a space (`docs/operations.md §9`);
  // within one line, so that a fenced block's ``` is never taken for an opening backtick.
  const paths = docs.flatMap((doc) =>
    [...readFileSync(resolve(ROOT, doc), 'utf8').matchAll(/`([^`\s]+)[^`\n]*`/g)]
      .map((m) => m[1] as string)
      .filter((p) => TOP.some((top) => p.startsWith(top)))
      .map((path) => ({ doc, path })),
  );

  it('name only files and directories that exist, or outputs the repo ignores', () => {
    // The scan finds the paths the docs do name, so an empty list of offences means something.
    expect(paths.length).toBeGreaterThan(30);
    const missing = paths
      .filter(({ path }) => !existsSync(resolve(ROOT, path)))
      // `bench/results/<name>.json`: a placeholder stands for any name.
      .filter(({ path }) => !ignored(path.replace(/<[^>]+>/g, 'x')))
      .map(({ doc, path }) => `${doc}: ${path}`);
    expect(missing).toEqual([]);
  });
});
