import { defineConfig } from 'vitest/config';

/**
 * End-to-end tests in Debian's Chromium driven by playwright-core, against the built app
 * (dist/) served by a plain static server. The global setup builds once and serves dist/.
 */
export default defineConfig({
  test: {
    include: ['tests/e2e/**/*.e2e.ts'],
    environment: 'node',
    globalSetup: ['tests/e2e/globalSetup.ts'],
    testTimeout: 180_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
});
