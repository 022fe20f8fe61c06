import { PassThrough, Readable } from 'node:stream'
import { createGzip } from 'node:zlib'
import type { Pack } from 'tar-stream'
import type { BlobStore } from '../../adapters/blobs/blobs.js'
import type { Clock } from '../../core/clock.js'
import type { Row, Store } from '../../adapters/store/store.js'
import { EngineError } from '../../core/errors/index.js'
import type { CollectionDef } from '../../core/schema/types.js'
import type { RequestContext } from '../context.js'
import { fileBlobKey } from '../files/file-names.js'
import { toApiRecord } from '../records/record-view.js'
import type { SchemaRegistry } from '../schema/schema-registry.js'
import { readConsents } from './privacy-consents.js'

/** Records one relation field may contribute to an export before it is refused (not cut short). */
const MAX_PER_RELATION = 100_000

export interface PrivacyDeps {
  store: Store
  registry: SchemaRegistry
  blobs?: BlobStore | undefined
  /** The engine's clock: the export's `exported` time. */
  clock: Clock
}

/** Whose data: the caller's own, or (superusers) any auth record. */
export interface PrivacySubject {
  collection: CollectionDef
  id: string
}

/**
 * The person a privacy request is about. A signed-in user may ask only about themself; a
 * superuser about anyone, naming `collection` and `id`. API keys may not (an export holds
 * everything about a person, more than any scope grants).
 */
export function privacySubject(
  ctx: RequestContext,
  registry: SchemaRegistry,
  query: { collection?: string | undefined; id?: string | undefined },
): PrivacySubject {
  const auth = ctx.auth
  if (!auth) throw new EngineError('ER_AUTH_REQUIRED', 'Sign in to ask for your data.')
  if (auth.apiKey) throw new EngineError('ER_FORBIDDEN', 'API keys cannot make privacy requests.')
  if (query.collection === undefined && query.id === undefined) {
    return { collection: auth.collection, id: String(auth.record.id) }
  }
  if (!auth.isSuperuser) {
    throw new EngineError('ER_FORBIDDEN', 'Only superusers may ask about another person.')
  }
  const collection = query.collection === undefined ? undefined : registry.find(query.collection)
  if (!collection || collection.type !== 'auth' || !query.id) {
    throw new EngineError('ER_VALIDATION_FAILED', 'Name an auth collection and a record id.', {
      errors: {
        [collection?.type === 'auth' ? 'id' : 'collection']: [
          {
            code: 'invalid',
            message: 'expected an auth collection and the id of one of its records',
          },
        ],
      },
    })
  }
  return { collection, id: query.id }
}

/**
 * Everything stored about `subject`, as a gzipped tar: `export.json` (their own record and every
 * record of any collection whose relation field points at them, secrets removed, with the names
 * of the fields marked `personal`, and every consent change they recorded) and each of those records' files under
 * `files/<collection>/<record id>/<name>`. Only relations whose target is the subject's own
 * collection count, so another auth collection's record with the same id is never included.
 * Records of others that merely point at records of the subject (a reply to their post) are
 * someone else's data and stay out.
 *
 * @example
 *   const archive = await exportPersonalData(deps, privacySubject(ctx, registry, {}))
 *   archive.pipe(reply.raw)
 */
export async function exportPersonalData(
  deps: PrivacyDeps,
  subject: PrivacySubject,
): Promise<Readable> {
  const [self] = await deps.store.selectByIds(subject.collection, [subject.id])
  if (!self) {
    throw new EngineError(
      'ER_RECORD_NOT_FOUND',
      `No record "${subject.id}" in "${subject.collection.name}".`,
    )
  }
  const records = new Map<string, { collection: CollectionDef; rows: Map<string, Row> }>()
  const add = (collection: CollectionDef, row: Row) => {
    const entry = records.get(collection.name) ?? { collection, rows: new Map() }
    records.set(collection.name, entry)
    entry.rows.set(String(row.id), toApiRecord(collection, { ...row }, true))
  }
  add(subject.collection, self)
  for (const collection of deps.registry.list()) {
    for (const field of collection.fields) {
      if (field.type !== 'relation' || field.collection !== subject.collection.name) continue
      const rows = await deps.store.selectReferencing(
        collection,
        field,
        [subject.id],
        [],
        MAX_PER_RELATION + 1,
      )
      if (rows.length > MAX_PER_RELATION) {
        throw new EngineError(
          'ER_VALIDATION_FAILED',
          `More than ${MAX_PER_RELATION} records of "${collection.name}" refer to this person through "${field.name}": export them in parts with the records API.`,
        )
      }
      for (const row of rows) add(collection, row)
    }
  }
  const { history: consents } = await readConsents(deps, subject)
  const document = {
    subject: { collection: subject.collection.name, id: subject.id },
    exported: deps.clock.now().toISOString(),
    consents,
    collections: Object.fromEntries(
      [...records.values()].map(({ collection, rows }) => [
        collection.name,
        {
          personalFields: collection.fields.filter((f) => f.personal).map((f) => f.name),
          records: [...rows.values()],
        },
      ]),
    ),
  }
  return writeArchive(deps, document, records)
}

function writeArchive(
  deps: PrivacyDeps,
  document: unknown,
  records: Map<string, { collection: CollectionDef; rows: Map<string, Row> }>,
): Readable {
  const out = new PassThrough()
  void (async () => {
    // Loaded on the first export: a server that never exports does not hold tar-stream.
    const pack = (await import('tar-stream')).pack()
    Readable.from(pack).pipe(createGzip()).pipe(out)
    const json = Buffer.from(JSON.stringify(document, null, 1))
    await entry(pack, 'export.json', json.length, Readable.from([json]))
    for (const { collection, rows } of records.values()) {
      for (const id of rows.keys()) {
        for (const file of await deps.store.files.listRecordFiles(collection.id, id)) {
          const body = await deps.blobs?.get(fileBlobKey(collection.id, id, file.name))
          if (!body) continue
          await entry(pack, `files/${collection.name}/${id}/${file.name}`, file.size, body)
        }
      }
    }
    pack.finalize()
  })().catch((error: Error) => out.destroy(error))
  return out
}

function entry(pack: Pack, name: string, size: number, body: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const sink = pack.entry({ name, size, mode: 0o600 }, (error) =>
      error ? reject(error) : resolve(),
    )
    body.on('error', reject)
    body.pipe(sink as unknown as NodeJS.WritableStream)
  })
}
