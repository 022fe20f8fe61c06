import { EngineError } from '../../core/errors/index.js'
import type { RequestContext } from '../context.js'
import type { PreparedWrite, RecordsService, WriteOp } from './records-service.js'

export const MAX_BATCH_REQUESTS = 100

export interface BatchResult {
  status: number
  body: unknown
}

const RECORDS_URL =
  /^\/api\/collections\/([A-Za-z_][A-Za-z0-9_]{0,62})\/records(?:\/([A-Za-z0-9_-]{1,64}))?\/?(?:\?.*)?$/

/**
 * `POST /api/batch`: several record writes in one transaction. Either every request applies and
 * each answers `{ status, body }`, or the first failure's error is thrown with its `index` and
 * nothing is applied.
 *
 * Every request is first checked and prepared (validation, rules that need no data, password
 * hashing) outside the transaction; the transaction then holds the database only for the
 * statements. An anonymous caller's 99 sign-ups thus never hold SQLite's write lock while
 * argon2 runs; and a non-superuser's request, a batch included, sets at most
 * `MAX_PASSWORDS_PER_REQUEST` passwords (credential-writes.ts).
 *
 * @example
 *   { "requests": [{ "method": "POST", "url": "/api/collections/posts/records", "body": { "title": "a" } },
 *                  { "method": "DELETE", "url": "/api/collections/posts/records/01jq…" }] }
 */
export async function runBatch(
  records: RecordsService,
  ctx: RequestContext,
  body: unknown,
): Promise<BatchResult[]> {
  const requests = (body as { requests?: unknown } | null)?.requests
  if (!Array.isArray(requests) || requests.length === 0 || requests.length > MAX_BATCH_REQUESTS) {
    throw new EngineError(
      'ER_VALIDATION_FAILED',
      `requests: must be a list of 1-${MAX_BATCH_REQUESTS} requests.`,
      {
        errors: {
          requests: [
            { code: 'type', message: `must be an array of 1-${MAX_BATCH_REQUESTS} requests` },
          ],
        },
      },
    )
  }
  const ops = requests.map((request, index) => atIndex(index, () => parseRequest(request)))
  // Prepared again from the start when another node changed a schema it used: nothing of a
  // failed attempt was applied (see fresh-schema-retry.ts).
  return records.retryOnFreshSchema(ctx, () => runOps(records, ctx, ops))
}

/** One attempt at the batch's writes, prepared then applied in one transaction. */
async function runOps(
  records: RecordsService,
  ctx: RequestContext,
  ops: readonly WriteOp[],
): Promise<BatchResult[]> {
  const prepared: PreparedWrite[] = []
  // Prepared writes may have stored files (finished tus uploads): a failed batch deletes them.
  try {
    for (const [index, op] of ops.entries()) {
      prepared.push(await atIndexAsync(index, () => records.prepare(ctx, op)))
    }
    const results = await records.transaction(async (tx) => {
      const results: BatchResult[] = []
      for (const [index, write] of prepared.entries()) {
        const body = await atIndexAsync(index, () => records.apply(ctx, tx, write))
        results.push(
          write.kind === 'create'
            ? { status: 201, body }
            : write.kind === 'update'
              ? { status: 200, body }
              : { status: 204, body: null },
        )
      }
      return results
    })
    records.settle(
      prepared,
      results.map((r) => r.body as Record<string, unknown> | null),
    )
    return results
  } catch (error) {
    await records.discard(prepared)
    throw error
  }
}

/** The error of request `index`, naming it, with nothing applied. */
function withIndex(index: number, error: unknown): unknown {
  if (!(error instanceof EngineError)) return error
  return new EngineError(error.code, `Request ${index} failed: ${error.message}`, {
    ...(error.errors ? { errors: error.errors } : {}),
    // An extension's problem chose its own status.
    status: { status: error.status, title: error.title },
    extra: { ...error.extra, index },
    cause: error,
  })
}

function atIndex<T>(index: number, work: () => T): T {
  try {
    return work()
  } catch (error) {
    throw withIndex(index, error)
  }
}

async function atIndexAsync<T>(index: number, work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    throw withIndex(index, error)
  }
}

function parseRequest(request: unknown): WriteOp {
  const { method, url, body } = (request ?? {}) as {
    method?: unknown
    url?: unknown
    body?: unknown
  }
  const match = typeof url === 'string' ? RECORDS_URL.exec(url) : null
  if (!match) {
    throw new EngineError(
      'ER_VALIDATION_FAILED',
      'url: must be /api/collections/{name}/records[/{id}].',
      {
        errors: {
          url: [{ code: 'pattern', message: 'must be /api/collections/{name}/records[/{id}]' }],
        },
      },
    )
  }
  const [, name, id] = match as unknown as [string, string, string | undefined]
  const verb = typeof method === 'string' ? method.toUpperCase() : ''
  if (verb === 'POST' && id === undefined) return { method: 'create', name, body: body ?? {} }
  if (verb === 'PATCH' && id !== undefined) return { method: 'update', name, id, body: body ?? {} }
  if (verb === 'DELETE' && id !== undefined) return { method: 'delete', name, id }
  throw new EngineError(
    'ER_VALIDATION_FAILED',
    `method: ${String(method)} is not a batch operation on this url.`,
    {
      errors: {
        method: [
          {
            code: 'enum',
            message: 'must be POST (on …/records), PATCH or DELETE (on …/records/{id})',
          },
        ],
      },
    },
  )
}
