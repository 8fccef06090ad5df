import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    // A worker runs file after file without starting afresh: each file's imports of the hub cost
    // about 0.9 s to load (106 s of a 330 s run, measured), and the tests share no module state
    // (no module mocks; the one global spy restores itself). A file must leave nothing running.
    isolate: false,
    // Generous: the bridge suites start real processes, and CI machines are shared and slow.
    testTimeout: 45_000,
    hookTimeout: 60_000,
    // Every API answer is checked against its declared schema (hub/api/route.ts), in the hubs the
    // tests start and in those they spawn.
    env: { CASIER_CHECK_RESPONSES: '1' },
  },
});
