/** A pseudo-terminal pair from socat: a real serial line between a simulated board and the bridge. */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PtyPair {
  board: string;
  bridge: string;
  close(): Promise<void>;
}

export async function ptyPair(): Promise<PtyPair> {
  const dir = mkdtempSync(join(tmpdir(), 'casier-pty-'));
  const board = join(dir, 'board');
  const bridge = join(dir, 'bridge');
  const child: ChildProcess = spawn(
    'socat',
    [`pty,raw,echo=0,link=${board}`, `pty,raw,echo=0,link=${bridge}`],
    { stdio: 'ignore' },
  );
  // A suite that never reached its close (a worker ended early) must not leave socat running.
  const orphaned = () => child.kill('SIGTERM');
  process.once('exit', orphaned);
  child.once('exit', () => process.off('exit', orphaned));
  const deadline = Date.now() + 5000;
  while (!(existsSync(board) && existsSync(bridge))) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error('socat did not create the pseudo-terminal pair (is socat installed?)');
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    board,
    bridge,
    async close() {
      // Twice, or after socat died on its own: nothing to wait for.
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
