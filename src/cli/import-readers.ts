import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { parse } from 'csv-parse'
import { EngineError } from '../core/errors/index.js'
import { isMultiValued } from '../core/schema/field-info.js'
import type { CollectionDef, FieldDef } from '../core/schema/types.js'
import type { ImportItem } from '../services/records/import-records.js'

/** JSON Lines: one JSON object per line; blank lines are skipped. */
export async function* readJsonLines(input: string | Readable): AsyncIterable<ImportItem> {
  const source = typeof input === 'string' ? createReadStream(input) : input
  const lines = createInterface({ input: source.setEncoding('utf8'), crlfDelay: Infinity })
  let line = 0
  for await (const text of lines) {
    line++
    if (text.trim() === '') continue
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch (error) {
      throw new EngineError(
        'ER_REQUEST_MALFORMED',
        `line ${line}: not valid JSON (${(error as Error).message}).`,
      )
    }
    yield { line, body }
  }
}

/**
 * CSV with a header row naming the fields (RFC 4180 quoting). Cells are text, so each is read
 * as its field's type: numbers, booleans (true/false/1/0), JSON, and for multi-valued fields
 * either a JSON array or comma-separated values. An empty cell is an absent value.
 */
export async function* readCsv(
  input: string | Readable,
  collection: CollectionDef,
): AsyncIterable<ImportItem> {
  const source = typeof input === 'string' ? createReadStream(input) : input
  const parser = source.pipe(parse({ bom: true, relax_column_count: false, info: true }))
  let header: string[] | undefined
  const fields = new Map(collection.fields.map((f) => [f.name, f]))
  for await (const { record, info } of parser as AsyncIterable<{
    record: string[]
    info: { lines: number }
  }>) {
    if (!header) {
      header = record.map((name) => name.trim())
      continue
    }
    const body: Record<string, unknown> = {}
    header.forEach((name, index) => {
      const cell = record[index] ?? ''
      if (cell === '') return
      body[name] = fromCell(fields.get(name), cell)
    })
    yield { line: info.lines, body }
  }
}

function fromCell(field: FieldDef | undefined, cell: string): unknown {
  if (!field) return cell
  if (isMultiValued(field)) {
    if (cell.trim().startsWith('[')) return parseJsonOr(cell)
    return cell
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '')
  }
  switch (field.type) {
    case 'number': {
      const value = Number(cell)
      return Number.isFinite(value) && cell.trim() !== '' ? value : cell
    }
    case 'bool':
      return /^(true|1|yes)$/i.test(cell) ? true : /^(false|0|no)$/i.test(cell) ? false : cell
    case 'json':
      return parseJsonOr(cell)
    default:
      return cell
  }
}

/** Invalid JSON stays text, so validation reports it against the field instead of a parse error. */
function parseJsonOr(cell: string): unknown {
  try {
    return JSON.parse(cell)
  } catch {
    return cell
  }
}
