import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // A test that needs longer is doing too much in one process run: split it.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Test files share their worker process: the schema engine, PostgreSQL's parser and the
    // modules under test load once per worker instead of once per file (a quarter of the
    // suite's CPU). Tests keep no state between files: each makes its own folders and databases.
    isolate: false,
    // Two cores: a few files at once keeps the real databases busy without starving the engine.
    maxWorkers: 3,
  },
});
