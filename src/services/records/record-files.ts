import type { FieldIssues } from '../../core/errors/index.js'
import { pushIssue, throwIfIssues } from '../../core/errors/field-issues.js'
import { FILE_NAME_PATTERN } from '../../core/schema/file-field.js'
import type { CollectionDef, FileField } from '../../core/schema/types.js'
import type { FileRow, Row } from '../../adapters/store/store.js'
import type { RequestContext } from '../context.js'
import type { FileWrites, NewFile, PlannedFile, UploadedFile } from '../files/file-writes.js'

type Item = { kind: 'existing'; name: string } | { kind: 'new'; file: NewFile }

/** What a request does to one file field. */
interface FieldOps {
  field: FileField
  /** The field's whole new list (`avatar`), when sent; else the stored list is the base. */
  set?: Item[]
  prepend: Item[]
  append: Item[]
  remove: string[]
}

/** A request's file changes, read from its body and uploads, before the write. */
export interface PreparedFiles {
  /** The body without its file keys: what record validation sees. */
  body: unknown
  ops: Map<string, FieldOps>
  /** Every new file (uploaded, or a planned tus upload), for the manifest and for cleanup. */
  newFiles: NewFile[]
  planned: PlannedFile[]
}

const KEY = /^(\+?)([A-Za-z_][A-Za-z0-9_]*)([+-]?)$/
const TUS_REF = /^tus:([A-Za-z0-9_-]{1,128})$/

/**
 * Reads the file keys of a record body, PocketBase style:
 * - `avatar`: the field's new list — names it already has (kept, in this order), `tus:<id>`
 *   references to finished resumable uploads, and files uploaded under `avatar`; `null`, `""`
 *   or `[]` removes every file;
 * - `avatar+` / `+avatar`: files (uploads or `tus:` references) added after / before the others;
 * - `avatar-`: names of files to remove.
 * A single-file field holds the last new file sent, replacing the one it had.
 */
export async function prepareFiles(
  files: FileWrites | undefined,
  ctx: RequestContext,
  collection: CollectionDef,
  body: unknown,
  uploads: readonly UploadedFile[] = [],
): Promise<PreparedFiles> {
  const prepared: PreparedFiles = { body, ops: new Map(), newFiles: [], planned: [] }
  const fileFields = new Map(
    collection.fields.filter((f) => f.type === 'file').map((f) => [f.name, f as FileField]),
  )
  if (fileFields.size === 0 && uploads.length === 0) return prepared
  const issues: FieldIssues = {}
  const opsOf = (name: string, key: string): FieldOps | undefined => {
    const field = fileFields.get(name)
    if (!field) {
      pushIssue(issues, key, 'unknown', `is not a file field of "${collection.name}"`)
      return undefined
    }
    let ops = prepared.ops.get(name)
    if (!ops) prepared.ops.set(name, (ops = { field, prepend: [], append: [], remove: [] }))
    return ops
  }
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    const rest: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(body)) {
      const match = KEY.exec(key)
      const name = match?.[2]
      if (!match || !name || !fileFields.has(name) || (match[1] && match[3])) {
        rest[key] = value
        continue
      }
      const ops = opsOf(name, key) as FieldOps
      const list = listOf(value)
      if (!list) {
        pushIssue(issues, key, 'type', 'must be a file name, a list of them, or null')
        continue
      }
      if (match[3] === '-') {
        ops.remove.push(...list)
        continue
      }
      const items: Item[] = []
      for (const text of list) {
        const ref = TUS_REF.exec(text)
        if (ref) {
          if (!files) {
            pushIssue(issues, key, 'upload', 'file storage is not configured')
            continue
          }
          const plan = await files.planUpload(ctx, collection, ops.field, ref[1] as string)
          prepared.planned.push(plan)
          prepared.newFiles.push(plan)
          items.push({ kind: 'new', file: plan })
        } else if (FILE_NAME_PATTERN.test(text)) {
          items.push({ kind: 'existing', name: text })
        } else {
          pushIssue(issues, key, 'value', `${JSON.stringify(text.slice(0, 64))} is not a file name`)
        }
      }
      if (match[1]) ops.prepend.push(...items)
      else if (match[3] === '+') ops.append.push(...items)
      else (ops.set ??= []).push(...items)
    }
    prepared.body = rest
  }
  for (const upload of uploads) {
    prepared.newFiles.push(upload.file)
    const match = KEY.exec(upload.key)
    const ops = opsOf(match?.[2] ?? upload.key, upload.key)
    if (!ops || !match || match[3] === '-') {
      if (ops) pushIssue(issues, upload.key, 'value', 'cannot carry a file (it removes files)')
      continue
    }
    const item: Item = { kind: 'new', file: upload.file }
    if (match[1]) ops.prepend.push(item)
    else if (match[3] === '+') ops.append.push(item)
    else (ops.set ??= []).push(item)
  }
  if (Object.keys(issues).length > 0) {
    await files?.discard(prepared.newFiles)
    throwIfIssues(issues, 'ER_VALIDATION_FAILED')
  }
  return prepared
}

function listOf(value: unknown): string[] | undefined {
  if (value === null || value === '') return []
  if (typeof value === 'string') return [value]
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[]
  return undefined
}

/**
 * The new value of each changed file field given what is stored (nothing, on create), and the
 * names the write removes. Names a request keeps or removes must be files the record has.
 */
export function resolveFiles(
  prepared: PreparedFiles,
  stored: Row | undefined,
): { values: Row; removed: string[] } {
  const values: Row = {}
  const removed: string[] = []
  const issues: FieldIssues = {}
  for (const [name, ops] of prepared.ops) {
    const { field } = ops
    const before = namesOf(stored?.[name])
    const unknown = [...(ops.set ?? []), ...ops.prepend, ...ops.append]
      .flatMap((i) => (i.kind === 'existing' ? [i.name] : []))
      .concat(ops.remove)
      .filter((n) => !before.includes(n))
    if (unknown.length > 0) {
      pushIssue(issues, name, 'value', `the record has no file ${JSON.stringify(unknown[0])}`)
      continue
    }
    const base = ops.set ?? before.map((n): Item => ({ kind: 'existing', name: n }))
    let items = [...ops.prepend, ...base, ...ops.append].filter(
      (i) => i.kind === 'new' || !ops.remove.includes(i.name),
    )
    const maxSelect = field.maxSelect ?? 1
    if (maxSelect === 1) {
      // One file: a new one replaces what was there, as users of single-file fields expect.
      const fresh = items.filter((i) => i.kind === 'new')
      if (fresh.length > 1) {
        pushIssue(issues, name, 'maxSelect', 'takes a single file')
        continue
      }
      if (fresh.length === 1) items = fresh
      if (items.length > 1) items = items.slice(-1)
    } else if (items.length > maxSelect) {
      pushIssue(issues, name, 'maxSelect', `must have at most ${maxSelect} files`)
      continue
    }
    const after = items.map((i) => (i.kind === 'new' ? i.file.name : i.name))
    if (field.required && after.length === 0) {
      pushIssue(issues, name, 'required', 'is required')
      continue
    }
    removed.push(...before.filter((n) => !after.includes(n)))
    values[name] = maxSelect === 1 ? (after[0] ?? null) : after
  }
  throwIfIssues(issues, 'ER_VALIDATION_FAILED')
  return { values, removed }
}

function namesOf(value: unknown): string[] {
  if (Array.isArray(value)) return value as string[]
  return typeof value === 'string' && value !== '' ? [value] : []
}

/** Manifest rows of the new files a write keeps (files replaced within the same write are not). */
export function newFileRows(
  prepared: PreparedFiles,
  collection: CollectionDef,
  recordId: string,
  values: Row,
  now: string,
): FileRow[] {
  const kept = new Set(Object.values(values).flatMap((v) => namesOf(v)))
  return prepared.newFiles
    .filter((f) => kept.has(f.name))
    .map((f) => ({
      collectionId: collection.id,
      recordId,
      name: f.name,
      fieldId: f.field.id,
      size: f.size,
      mime: f.mime,
      sha256: f.sha256,
      created: now,
      deleted: null,
    }))
}

/** The new files a write did not keep (sent, then replaced within the same request). */
export function unusedFiles(prepared: PreparedFiles, values: Row): NewFile[] {
  const kept = new Set(Object.values(values).flatMap((v) => namesOf(v)))
  return prepared.newFiles.filter((f) => !kept.has(f.name))
}

/** True when the collection has a file field (deletes must then mark its files). */
export function hasFileFields(collection: CollectionDef): boolean {
  return collection.fields.some((f) => f.type === 'file')
}
