import { defineConfig } from 'vitest/config'

export default defineConfig({
  resolve: {
    // graphql ships CommonJS and ESM builds. Node (and so graphql-http, graphql-ws) loads the
    // CommonJS one; Vite would hand our sources the ESM one, and two copies of graphql refuse
    // each other's schemas. Pin ours to the build Node uses, as at run time.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Suites share one PostgreSQL server; each test file makes its own schema, so files may run
    // in parallel, but two cores are all a CI machine has.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
})
