import { defineConfig } from 'vitest/config';

/**
 * The in-process tests of the pure core: no build, no database, no engine; milliseconds each.
 * CI also runs them on a newer LTS Node than the one it builds with.
 */
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/db-split.test.ts', 'test/folder.test.ts', 'test/layers.test.ts'],
    testTimeout: 5_000,
  },
});
