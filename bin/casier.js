#!/usr/bin/env node
// casier's command line. The sources are TypeScript run through tsx, so a clone works with
// `npx casier …` without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
