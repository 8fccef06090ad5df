/** Runs the real `casier bridge` in a child process, as on a Pi. */
import { type ChildProcess, spawn } from 'node:child_process';
import { BIN } from './process.ts';

export interface BridgeProcess {
  child: ChildProcess;
  output: () => string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function spawnBridge(args: string[]): BridgeProcess {
  const child = spawn(process.execPath, [BIN, 'bridge', '--log-level', 'info', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    out += d;
  });
  return {
    child,
    output: () => out,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      // A bridge that does not stop within 5 s is killed outright: a test must not hang on it.
      const escalate = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(escalate);
    },
  };
}
