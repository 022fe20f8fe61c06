import { createReadStream, statSync } from 'node:fs'
import type { Command } from 'commander'
import { EngineError } from '../../core/errors/index.js'
import { loadMain } from './load-main.js'
import { cliContext } from '../../services/context.js'
import { importRecords, type ImportItem } from '../../services/records/import-records.js'
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
      // On the deployment's bus with REDIS_URL: the servers' cached lists see the new records.
      const { engine, close } = await (await loadMain()).openEngineBesideServers(config)
      try {
        const collection = engine.registry.get(name)
        const input = createReadStream(file)
        // csv-parse is loaded by this command only, not by every start of the CLI (`serve`).
        const { readCsv, readJsonLines } = await import('../import-readers.js')
        const source = format === 'csv' ? readCsv(input, collection) : readJsonLines(input)
        const started = Date.now()
        const report = progressReporter(started, () => ({
          read: input.bytesRead,
          total: statSync(file).size,
        }))
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
        const resume = error instanceof EngineError ? error.extra?.resumeFromLine : undefined
        if (typeof resume === 'number') {
          console.error(
            `Everything before line ${resume} is in "${name}"; fix the record named above, then ` +
              `resume with --from-line ${resume}.`,
          )
        }
        throw error
      } finally {
        await close()
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

/**
 * One status line, rewritten in place on a terminal and printed at most once a second otherwise:
 * records so far, the share of the file read, the rate and the time left at that rate.
 */
function progressReporter(started: number, position: () => { read: number; total: number }) {
  let lastPrint = 0
  return ({ imported, line }: { imported: number; line: number }) => {
    const now = Date.now()
    if (!process.stderr.isTTY && now - lastPrint < 1000) return
    lastPrint = now
    const elapsed = Math.max((now - started) / 1000, 0.001)
    const rate = Math.round(imported / elapsed)
    const { read, total } = position()
    const share = total > 0 ? Math.min(read / total, 1) : 0
    const left = share > 0 ? (elapsed * (1 - share)) / share : undefined
    const text =
      `imported ${imported.toLocaleString('en')} records (through line ${line.toLocaleString('en')})` +
      (total > 0 ? ` · ${Math.floor(share * 100)}%` : '') +
      ` · ${rate.toLocaleString('en')}/s` +
      (left !== undefined && share < 1 ? ` · about ${duration(left)} left` : '')
    process.stderr.write(process.stderr.isTTY ? `\r${text}\x1b[K` : `${text}\n`)
  }
}

function duration(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)} s`
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.ceil(seconds % 60)} s`
  return `${Math.floor(seconds / 3600)} h ${Math.ceil((seconds % 3600) / 60)} min`
}
