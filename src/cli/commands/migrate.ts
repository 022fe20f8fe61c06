import type { Command } from 'commander'
import { dataPaths } from '../../config/config.js'
import { systemClock } from '../../core/clock.js'
import { loadMain } from './load-main.js'
import { applyMigrationFiles } from '../../services/schema/apply-migration-files.js'
import { requireFolder } from '../cli-errors.js'
import { configFrom, withDirOption } from './options.js'

export function registerMigrateCommand(program: Command): void {
  withDirOption(
    program
      .command('migrate')
      .description(
        'Apply the migration files of <dir>/migrations that the database has not applied yet.',
      )
      .option('--from <path>', 'read migration files from this folder instead'),
  ).action(async (options: { dir?: string; from?: string }) => {
    const config = configFrom(options)
    const folder = options.from ?? dataPaths(config).migrationsDir
    // A mistyped --from must not read as "Nothing to apply." and exit 0.
    if (options.from !== undefined) requireFolder(options.from, 'The migrations folder')
    const { store, description } = await (await loadMain()).openStore(config)
    try {
      console.log(`Migrating ${description} from ${folder}`)
      const applied = await applyMigrationFiles(
        store,
        folder,
        systemClock,
        (p) =>
          console.log(
            `  [${p.index + 1}/${p.total}] ${p.status === 'applied' ? 'applied ' : 'up to date'} ${p.name}`,
          ),
        'cli',
      )
      console.log(
        applied.length === 0 ? 'Nothing to apply.' : `Applied ${applied.length} migration(s).`,
      )
    } finally {
      await store.close()
    }
  })
}
