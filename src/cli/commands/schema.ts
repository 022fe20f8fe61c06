import { readFileSync, writeFileSync } from 'node:fs'
import type { Command } from 'commander'
import { loadMain } from './load-main.js'
import { cliContext } from '../../services/context.js'
import { CliError, requireFile } from '../cli-errors.js'
import { describeOperations } from './migrate.js'
import { configOfExistingDir, withDirOption } from './options.js'
import { exportSchemaHistory, readSchemaHistory } from '../../services/schema/schema-history.js'

export function registerSchemaCommands(program: Command): void {
  const schema = program
    .command('schema')
    .description('Export or import the collections as a JSON file; show the schema history.')

  withDirOption(
    schema
      .command('export <file>')
      .description('Write every collection definition to <file> ("-" for stdout).'),
  ).action(async (file: string, options: { dir?: string }) => {
    const { engine } = await (await loadMain()).openEngine(configOfExistingDir(options))
    try {
      const collections = engine.schema.exportSchema(cliContext(engine.registry.get('_superusers')))
      const text = JSON.stringify(collections, null, 2) + '\n'
      if (file === '-') process.stdout.write(text)
      else {
        writeFileSync(file, text)
        console.log(`Exported ${collections.length} collection(s) to ${file}`)
      }
    } finally {
      await engine.close()
    }
  })

  withDirOption(
    schema
      .command('import <file>')
      .description('Create or update collections to match <file>, in one transaction.'),
  ).action(async (file: string, options: { dir?: string }) => {
    const config = configOfExistingDir(options)
    requireFile(file, 'The schema file')
    let input: unknown
    try {
      input = JSON.parse(readFileSync(file, 'utf8'))
    } catch (error) {
      throw new CliError(
        `${file} is not valid JSON (${(error as Error).message}). Export one with: engineroom schema export <file>`,
      )
    }
    // On the deployment's bus with REDIS_URL: the servers reload the schema at once.
    const { engine, close } = await (await loadMain()).openEngineBesideServers(config)
    try {
      const result = await engine.schema.importSchema(
        cliContext(engine.registry.get('_superusers')),
        input,
      )
      console.log(
        `Imported ${file}: ${result.created.length} created, ${result.updated.length} updated.`,
      )
      for (const name of result.created) console.log(`  + ${name}`)
      for (const name of result.updated) console.log(`  ~ ${name}`)
    } finally {
      await close()
    }
  })

  withDirOption(
    schema
      .command('history')
      .description(
        'List the schema changes applied to the database, oldest first (the same on every node).',
      )
      .option('--export <folder>', 'write them as migration files into <folder>, for git')
      .option('--json', "print the history as JSON (with each change's operations)"),
  ).action(async (options: { dir?: string; export?: string; json?: boolean }) => {
    const config = configOfExistingDir(options)
    const main = await loadMain()
    const { store, description } = await main.openStore(config)
    try {
      if (options.export !== undefined) {
        const result = await exportSchemaHistory(store, options.export)
        console.log(
          `Exported the schema history of ${description} to ${options.export}: ${result.written.length} written, ${result.unchanged.length} already there.`,
        )
        for (const name of result.withoutContent)
          console.log(`  ? ${name}: applied before contents were kept; its file is not known`)
        if (result.differing.length > 0) {
          throw new CliError(
            `${result.differing.length} file(s) in ${options.export} differ from the database's history and were left alone: ${result.differing.join(', ')}. Compare them, or export into an empty folder.`,
          )
        }
        return
      }
      const history = await readSchemaHistory(store)
      if (options.json) {
        process.stdout.write(JSON.stringify(history, null, 2) + '\n')
        return
      }
      if (history.length === 0) console.log(`No schema changes applied to ${description}.`)
      for (const entry of history) {
        const what = entry.migration
          ? describeOperations(entry.migration.up)
          : '(content not recorded)'
        console.log(`${entry.name}  ${entry.applied}  ${what}`)
      }
    } finally {
      await store.close()
    }
  })
}
