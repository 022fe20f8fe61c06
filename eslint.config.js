import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

/** Layering: core has no I/O, services see ports only as types, only main.ts picks adapters. */
const layer = (files, patterns) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { patterns }] },
})

export default tseslint.config(
  {
    ignores: [
      'dist',
      'node_modules',
      'er_data',
      'coverage',
      'admin/dist',
      'hub/dist',
      'packages/client/dist',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { languageOptions: { globals: globals.node } },
  // The dashboard runs in browsers (its own tsconfig checks its types: npm run typecheck).
  { files: ['admin/src/**/*.{ts,tsx}'], languageOptions: { globals: globals.browser } },
  // So does the career hub's page (hub/tsconfig.json).
  { files: ['hub/src/**/*.ts'], languageOptions: { globals: globals.browser } },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  layer(
    ['src/core/**/*.ts'],
    [
      {
        group: [
          '**/services/**',
          '**/adapters/**',
          '**/http/**',
          '**/cli/**',
          'fastify',
          'kysely',
          'pg',
          'better-sqlite3',
          'node:fs',
          'node:net',
        ],
        message: 'core/ is pure: no I/O and no outer layer.',
      },
    ],
  ),
  layer(
    ['src/services/**/*.ts'],
    [
      {
        group: ['**/http/**', '**/cli/**', 'fastify'],
        message: 'services/ know nothing of transports.',
      },
      {
        group: ['**/adapters/store/sqlite/**', '**/adapters/store/postgres/**'],
        message: 'services/ see ports, not concrete adapters.',
      },
    ],
  ),
  layer(
    ['src/http/**/*.ts'],
    [
      {
        group: ['**/adapters/store/sqlite/**', '**/adapters/store/postgres/**', '**/cli/**'],
        message: 'http/ receives services; only main.ts picks adapters.',
      },
    ],
  ),
)
