/** Fails fast, with the fix, when a system tool the suites need is missing. */
import { spawnSync } from 'node:child_process';

export default function setup(): void {
  const socat = spawnSync('socat', ['-V'], { stdio: 'ignore' });
  if (socat.error) {
    throw new Error(
      'socat is missing: the bridge tests need it for pseudo-terminal serial lines (Debian: apt-get install socat)',
    );
  }
}
