import { EngineError } from '../../core/errors/index.js'
import { isMultiValued } from '../../core/schema/field-info.js'
import type { CollectionDef } from '../../core/schema/types.js'
import { validateCreateInput } from '../../core/schema/validate-record.js'
import type { Row } from '../../adapters/store/store.js'
import { requireSuperuser } from '../access.js'
import type { RequestContext } from '../context.js'
import type { StoreSession } from '../../adapters/store/store.js'
import type { SchemaRegistry } from '../schema/schema-registry.js'
import { hashInputPassword, newRow } from './record-writes.js'
import type { RecordsDeps } from './records-deps.js'

/** One input record and the line it came from, for error messages that point at the file. */
export interface ImportItem {
  line: number
  body: unknown
}

export interface ImportProgress {
  imported: number
  line: number
}

export interface ImportOptions {
  /** Records per transaction (default 1000). */
  batchSize?: number
  onProgress?: (progress: ImportProgress) => void
}

/**
 * Bulk loads records: each is validated exactly as a create would be (types, constraints,
 * required, defaults, relation targets), then written with multi-row inserts, one transaction
 * per batch. The first invalid record stops the import with its line number; the batches before
 * it stay committed, so the message says which line to resume from.
 *
 * @example
 *   await importRecords(deps, ctx, 'posts', readJsonLines('posts.jsonl'), { onProgress: console.log })
 */
export async function importRecords(
  deps: RecordsDeps,
  ctx: RequestContext,
  name: string,
  items: AsyncIterable<ImportItem>,
  options: ImportOptions = {},
): Promise<ImportProgress> {
  requireSuperuser(ctx)
  await deps.registry.refreshIfStale()
  const collection = deps.registry.get(name)
  const batchSize = Math.min(Math.max(options.batchSize ?? 1000, 1), 10_000)
  const progress: ImportProgress = { imported: 0, line: 0 }
  let batch: { line: number; row: Row }[] = []

  const flush = async () => {
    if (batch.length === 0) return
    const rows = batch
    batch = []
    await deps.store
      .transaction(async (tx) => {
        await checkBatchRelations(tx, deps.registry, collection, rows)
        await tx.insertRecords(
          collection,
          rows.map((r) => r.row),
        )
      })
      .catch((error: unknown) => {
        // Relation errors already name their line; others (a unique clash) name the batch.
        const where =
          error instanceof EngineError && error.message.startsWith('line ')
            ? ''
            : `lines ${rows[0]?.line}-${rows.at(-1)?.line}`
        throw withLineNumber(error, where, progress)
      })
    progress.imported += rows.length
    progress.line = rows.at(-1)?.line ?? progress.line
    options.onProgress?.({ ...progress })
  }

  const columns = allColumns(collection)
  const now = deps.clock.now().toISOString()
  for await (const { line, body } of items) {
    let row: Row
    try {
      const input = validateCreateInput(collection, body)
      const values = await hashInputPassword(collection, input, deps.passwords)
      row = fillColumns(columns, newRow(collection, input, values, now))
    } catch (error) {
      throw withLineNumber(error, `line ${line}`, progress)
    }
    batch.push({ line, row })
    if (batch.length >= batchSize) await flush()
  }
  await flush()
  return progress
}

type ColumnDefault = [name: string, empty: unknown]

function allColumns(collection: CollectionDef): ColumnDefault[] {
  const columns: ColumnDefault[] = collection.fields.map((f) => [
    f.name,
    f.type === 'bool' ? false : isMultiValued(f) ? [] : null,
  ])
  if (collection.type === 'auth') columns.push(['verified', false])
  return columns
}

/** Multi-row inserts need every row to carry the same columns. */
function fillColumns(columns: ColumnDefault[], row: Row): Row {
  for (const [name, empty] of columns) if (!(name in row)) row[name] = empty
  return row
}

/**
 * Every relation id in the batch must exist: one query per relation field per batch (ids made
 * by this same batch count, for self-relations), naming the first line that points nowhere.
 */
async function checkBatchRelations(
  tx: StoreSession,
  registry: SchemaRegistry,
  collection: CollectionDef,
  rows: { line: number; row: Row }[],
): Promise<void> {
  for (const field of collection.fields) {
    if (field.type !== 'relation') continue
    const target = registry.get(field.collection)
    const idsOf = (row: Row): string[] => {
      const value = row[field.name]
      return Array.isArray(value) ? (value as string[]) : typeof value === 'string' ? [value] : []
    }
    const wanted = new Set(rows.flatMap((r) => idsOf(r.row)))
    if (wanted.size === 0) continue
    const found = new Set<string>(
      target.id === collection.id ? rows.map((r) => r.row.id as string) : [],
    )
    const pending = [...wanted].filter((id) => !found.has(id))
    for (let i = 0; i < pending.length; i += 500) {
      for (const record of await tx.selectByIds(target, pending.slice(i, i + 500)))
        found.add(record.id as string)
    }
    const broken = rows.find((r) => idsOf(r.row).some((id) => !found.has(id)))
    if (broken) {
      const missing = idsOf(broken.row).find((id) => !found.has(id))
      throw new EngineError(
        'ER_RELATION_MISSING',
        `line ${broken.line}: ${field.name}: no record "${missing}" in "${target.name}".`,
        {
          errors: {
            [field.name]: [
              { code: 'relation', message: `no record "${missing}" in "${target.name}"` },
            ],
          },
        },
      )
    }
  }
}

function withLineNumber(error: unknown, where: string, progress: ImportProgress): unknown {
  if (!(error instanceof EngineError)) return error
  const resume =
    progress.imported > 0 ? ` ${progress.imported} records before it were imported.` : ''
  return new EngineError(error.code, `${where ? `${where}: ` : ''}${error.message}${resume}`, {
    ...(error.errors ? { errors: error.errors } : {}),
    extra: {
      ...error.extra,
      imported: progress.imported,
      // The first line after the last committed batch: where a resumed import starts.
      ...(progress.imported > 0 ? { resumeFromLine: progress.line + 1 } : {}),
    },
    cause: error,
  })
}
