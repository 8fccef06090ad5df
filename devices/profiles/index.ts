/**
 * The built-in cabinet profiles, and profiles read from an installer's JSON file. A profile is plain
 * data; add a built-in one by adding a file here.
 */
import { farmBox4 } from './farm-box-4.ts';
import { ruralBox8 } from './rural-box-8.ts';
import { checkProfile, type LockerProfile, lockerProfile } from './schema.ts';
import { townLocker16 } from './town-locker-16.ts';
import { townLocker24 } from './town-locker-24.ts';

export * from './schema.ts';

export const PROFILES: readonly LockerProfile[] = [ruralBox8, townLocker16, townLocker24, farmBox4].map((p) =>
  lockerProfile.parse(p),
);

export function findProfile(name: string): LockerProfile | undefined {
  return PROFILES.find((p) => p.name === name);
}

export type ParsedProfile = { ok: true; profile: LockerProfile } | { ok: false; problems: string[] };

/**
 * Reads a profile an installer wrote (JSON text): the same schema and consistency rules as the
 * built-in ones, every problem reported as `path: message`. A name taken by a built-in profile is
 * refused: a cabinet's profile name must mean one cabinet.
 */
export function parseProfile(text: string): ParsedProfile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, problems: [`not JSON: ${(err as Error).message}`] };
  }
  const parsed = lockerProfile.safeParse(json);
  if (!parsed.success)
    return {
      ok: false,
      problems: parsed.error.issues.map((i) => `${i.path.join('.') || '(profile)'}: ${i.message}`),
    };
  const problems = checkProfile(parsed.data);
  if (findProfile(parsed.data.name))
    problems.unshift(`name: ${parsed.data.name} is a built-in profile; give yours its own name`);
  return problems.length ? { ok: false, problems } : { ok: true, profile: parsed.data };
}

/** Whether a `--profile` value names a file rather than a built-in profile. */
export const isProfileFile = (spec: string): boolean => spec.includes('/') || spec.endsWith('.json');

/**
 * The profile a `--profile` value means: a built-in one by name, or the file at that path (read
 * with `read`, which may throw). Throws an Error that lists every problem.
 */
export function resolveProfile(spec: string, read: (path: string) => string): LockerProfile {
  if (!isProfileFile(spec)) {
    const p = findProfile(spec);
    if (!p)
      throw new Error(
        `unknown profile ${JSON.stringify(spec)}; one of ${PROFILES.map((x) => x.name).join(', ')}, or a file (./my-cabinet.json)`,
      );
    return p;
  }
  const parsed = parseProfile(read(spec));
  if (!parsed.ok) throw new Error(`${spec}:\n  ${parsed.problems.join('\n  ')}`);
  return parsed.profile;
}
