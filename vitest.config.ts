import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Files run in parallel, each in a database of its own (test/support/database.ts).
    pool: 'forks',
    // Vitest's default on a 2-core machine (CI's) is one fork, but the tests mostly wait on
    // Postgres and on subprocesses: two forks halved the suite's wall time there (621 s -> 314 s
    // at load 6-7, docs/testing.md), and three gained nothing more.
    maxWorkers: 2,
    minWorkers: 1,
  },
})
