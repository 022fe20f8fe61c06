import type { Command } from 'commander'
import { EngineError } from '../../core/errors/index.js'
import { loadMain } from './load-main.js'
import { cliContext } from '../../services/context.js'
import { importRecords, type ImportItem } from '../../services/records/import-records.js'
import { readCsv, readJsonLines } from '../import-readers.js'
import { requireFile } from '../cli-errors.js'
import { configOfExistingDir, withDirOption } from './options.js'

export function registerImportCommand(program: Command): void {
  withDirOption(
    program
      .command('import <collection> <file>')
      .description('Bulk load records from JSON Lines (.jsonl) or CSV with a header row (.csv).')
      .option('--format <format>', 'jsonl or csv (default: from the file extension)')
      .option('--batch <n>', 'records per transaction (1-10000)', '1000')
      .option('--from-line <n>', 'skip the lines before this one (to resume an import)', '1'),
  ).action(
    async (
      name: string,
      file: string,
      options: { dir?: string; format?: string; batch: string; fromLine: string },
    ) => {
      const format = options.format ?? (/\.csv$/i.test(file) ? 'csv' : 'jsonl')
      if (format !== 'csv' && format !== 'jsonl') {
        throw new EngineError(
          'ER_VALIDATION_FAILED',
          `--format: expected jsonl or csv, got "${format}".`,
        )
      }
      const batchSize = Number(options.batch)
      const fromLine = Number(options.fromLine)
      if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
        throw new EngineError(
          'ER_VALIDATION_FAILED',
          '--batch: expected a whole number from 1 to 10000.',
        )
      }
      if (!Number.isSafeInteger(fromLine) || fromLine < 1) {
        throw new EngineError(
          'ER_VALIDATION_FAILED',
          '--from-line: expected a whole number from 1.',
        )
      }
      const config = configOfExistingDir(options)
      requireFile(file, 'The file to import')
      const { engine } = await (await loadMain()).openEngine(config)
      try {
        const collection = engine.registry.get(name)
        const source = format === 'csv' ? readCsv(file, collection) : readJsonLines(file)
        const started = Date.now()
        const report = progressReporter(started)
        const result = await importRecords(
          engine.recordsDeps,
          cliContext(engine.registry.get('_superusers')),
          name,
          skipLines(source, fromLine),
          {
            batchSize,
            onProgress: report,
          },
        )
        process.stderr.write('\n')
        const seconds = (Date.now() - started) / 1000
        console.log(
          `Imported ${result.imported.toLocaleString('en')} records into "${name}" in ${seconds.toFixed(1)} s.`,
        )
      } catch (error) {
        process.stderr.write('\n')
        if (
          error instanceof EngineError &&
          typeof error.extra?.imported === 'number' &&
          error.extra.imported > 0
        ) {
          console.error('Fix that record, then resume with --from-line <its line number>.')
        }
        throw error
      } finally {
        await engine.close()
      }
    },
  )
}

async function* skipLines(
  source: AsyncIterable<ImportItem>,
  fromLine: number,
): AsyncIterable<ImportItem> {
  for await (const item of source) if (item.line >= fromLine) yield item
}

/** One status line, rewritten in place on a terminal and printed at most once a second otherwise. */
function progressReporter(started: number) {
  let lastPrint = 0
  return ({ imported, line }: { imported: number; line: number }) => {
    const now = Date.now()
    if (!process.stderr.isTTY && now - lastPrint < 1000) return
    lastPrint = now
    const rate = Math.round(imported / Math.max((now - started) / 1000, 0.001))
    const text = `imported ${imported.toLocaleString('en')} records (through line ${line.toLocaleString('en')}) · ${rate.toLocaleString('en')}/s`
    process.stderr.write(process.stderr.isTTY ? `\r${text}` : `${text}\n`)
  }
}
