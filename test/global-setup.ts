/** Fails fast, with the fix, when a system tool the suites need is missing; builds the dashboard. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { buildDashboard } from '../dashboard/build.ts';
import { CHROMIUM } from './helpers/browser.ts';

export default async function setup(): Promise<void> {
  const socat = spawnSync('socat', ['-V'], { stdio: 'ignore' });
  if (socat.error) {
    throw new Error(
      'socat is missing: the bridge tests need it for pseudo-terminal serial lines (Debian: apt-get install socat)',
    );
  }
  for (const [tool, args] of [
    ['mosquitto', ['-h']],
    ['mosquitto_passwd', ['-h']],
    ['nats-server', ['--version']],
  ] as const) {
    if (spawnSync(tool, args, { stdio: 'ignore' }).error)
      throw new Error(
        `${tool} is missing: the external-broker tests start it (Debian: apt-get install mosquitto nats-server)`,
      );
  }
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM}: the dashboard tests drive it (Debian: apt-get install chromium; elsewhere set CASIER_CHROMIUM)`,
    );
  }
  // The hub serves dashboard/dist: every run tests the page built from the sources it has.
  await buildDashboard();
}
