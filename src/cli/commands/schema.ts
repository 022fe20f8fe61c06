import { readFileSync, writeFileSync } from 'node:fs'
import type { Command } from 'commander'
import { loadMain } from './load-main.js'
import { cliContext } from '../../services/context.js'
import { CliError, requireFile } from '../cli-errors.js'
import { configOfExistingDir, withDirOption } from './options.js'

export function registerSchemaCommands(program: Command): void {
  const schema = program
    .command('schema')
    .description('Export or import the collections as a JSON file.')

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
    const { engine } = await (await loadMain()).openEngine(config)
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
      await engine.close()
    }
  })
}
