import { existsSync } from 'node:fs'
import type { Command } from 'commander'
import { dataPaths, loadConfig } from '../../config/config.js'
import { systemClock } from '../../core/clock.js'
import { loadMain } from './load-main.js'
import {
  applyMigrationFiles,
  applyMigrationsFromStore,
  type MigrateProgress,
} from '../../services/schema/apply-migration-files.js'
import type { SchemaOperation } from '../../services/schema/migration-files.js'
import { CliError, requireFolder } from '../cli-errors.js'
import { configFrom, withDirOption } from './options.js'

export function registerMigrateCommand(program: Command): void {
  withDirOption(
    program
      .command('migrate')
      .description(
        "Apply the migration files of <dir>/migrations (or another database's schema history) that the database has not applied yet.",
      )
      .option('--from <path>', 'read migration files from this folder instead')
      .option(
        '--from-database <url|dir>',
        "replay another database's schema history: a postgres:// URL or a SQLite data directory",
      ),
  ).action(async (options: { dir?: string; from?: string; fromDatabase?: string }) => {
    if (options.from !== undefined && options.fromDatabase !== undefined) {
      throw new CliError('Give either --from <folder> or --from-database <url|dir>, not both.')
    }
    const config = configFrom(options)
    const main = await loadMain()
    const report = (p: MigrateProgress) =>
      console.log(
        `  [${p.index + 1}/${p.total}] ${p.status === 'applied' ? 'applied ' : 'up to date'} ${p.name}`,
      )
    let applied: string[]
    if (options.fromDatabase !== undefined) {
      const source = await main.openStore(sourceConfig(options.fromDatabase))
      try {
        const { store, description } = await main.openStore(config)
        try {
          const bus = await main.openServersBus(config, store)
          try {
            console.log(`Migrating ${description} from the history of ${source.description}`)
            applied = await applyMigrationsFromStore(
              store,
              source.store,
              systemClock,
              report,
              'cli',
            )
            if (bus && applied.length > 0) await main.announceSchemaChange(bus, store)
          } finally {
            await bus?.close()
          }
        } finally {
          await store.close()
        }
      } finally {
        await source.store.close()
      }
    } else {
      const folder = options.from ?? dataPaths(config).migrationsDir
      // A mistyped --from must not read as "Nothing to apply." and exit 0.
      if (options.from !== undefined) requireFolder(options.from, 'The migrations folder')
      const { store, description } = await main.openStore(config)
      try {
        // With REDIS_URL, the running servers reload at once rather than at their next poll.
        // Opened first: an unreachable Redis ends the command before anything is applied.
        const bus = await main.openServersBus(config, store)
        try {
          console.log(`Migrating ${description} from ${folder}`)
          applied = await applyMigrationFiles(store, folder, systemClock, report, 'cli')
          if (bus && applied.length > 0) await main.announceSchemaChange(bus, store)
        } finally {
          await bus?.close()
        }
      } finally {
        await store.close()
      }
    }
    console.log(
      applied.length === 0 ? 'Nothing to apply.' : `Applied ${applied.length} migration(s).`,
    )
  })
}

/** The database `--from-database` names: a PostgreSQL URL, else an existing SQLite data dir. */
function sourceConfig(source: string) {
  const postgres = /^postgres(ql)?:\/\//i.test(source)
  const env = { ...process.env, DATABASE_URL: postgres ? source : undefined }
  const config = loadConfig(postgres ? {} : { dir: source }, env)
  // Opening a database that is not there would create an empty one and replay nothing.
  if (!postgres && !existsSync(dataPaths(config).sqliteFile)) {
    throw new CliError(
      `--from-database ${source}: no SQLite database there. Give a postgres:// URL or an existing data directory.`,
    )
  }
  return config
}

/** A short human summary of a migration's operations: `create posts, update teams`. */
export function describeOperations(operations: SchemaOperation[]): string {
  return operations
    .map(
      (o) =>
        `${o.op.replace('Collection', '')} ${'collection' in o ? o.collection.name : o.to.name}`,
    )
    .join(', ')
}
