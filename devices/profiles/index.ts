/** The built-in cabinet profiles. A profile is plain data; add one by adding a file here. */
import { farmBox4 } from './farm-box-4.ts';
import { ruralBox8 } from './rural-box-8.ts';
import { type LockerProfile, lockerProfile } from './schema.ts';
import { townLocker16 } from './town-locker-16.ts';
import { townLocker24 } from './town-locker-24.ts';

export * from './schema.ts';

export const PROFILES: readonly LockerProfile[] = [ruralBox8, townLocker16, townLocker24, farmBox4].map((p) =>
  lockerProfile.parse(p),
);

export function findProfile(name: string): LockerProfile | undefined {
  return PROFILES.find((p) => p.name === name);
}
