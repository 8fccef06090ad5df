import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    // Generous: the bridge suites start real processes, and CI machines are shared and slow.
    testTimeout: 45_000,
    hookTimeout: 60_000,
    // Every API answer is checked against its declared schema (hub/api/route.ts), in the hubs the
    // tests start and in those they spawn.
    env: { CASIER_CHECK_RESPONSES: '1' },
  },
});
