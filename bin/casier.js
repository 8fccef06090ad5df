#!/usr/bin/env node
// casier's command line. The sources are TypeScript run through tsx, so a clone works with
// `npx casier …` without a build step.
import { register } from 'tsx/esm/api';

// `casier profiles | head -1`: once the reader has gone there is no one left to tell, so stop
// quietly and successfully, as a command killed by SIGPIPE would (node ignores that signal).
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
register();
const { main } = await import('../cli/main.ts');
const code = await main(process.argv.slice(2));
process.exitCode = code;
// A service that stopped may leave a blocking read behind (an input device waiting for a key
// press): exit anyway, a second after everything else has finished.
setTimeout(() => process.exit(code), 1000).unref();
