import { EngineError } from '../../core/errors/index.js'
import type { RequestContext } from '../context.js'
import type { RecordsService } from './records-service.js'

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
  return records.transaction(async (tx) => {
    const results: BatchResult[] = []
    for (const [index, request] of requests.entries()) {
      try {
        results.push(await runOne(records, ctx, request, tx))
      } catch (error) {
        if (!(error instanceof EngineError)) throw error
        throw new EngineError(error.code, `Request ${index} failed: ${error.message}`, {
          ...(error.errors ? { errors: error.errors } : {}),
          extra: { ...error.extra, index },
          cause: error,
        })
      }
    }
    return results
  })
}

async function runOne(
  records: RecordsService,
  ctx: RequestContext,
  request: unknown,
  tx: Parameters<RecordsService['create']>[3],
): Promise<BatchResult> {
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
  if (verb === 'POST' && id === undefined)
    return { status: 201, body: await records.create(ctx, name, body ?? {}, tx) }
  if (verb === 'PATCH' && id !== undefined)
    return { status: 200, body: await records.update(ctx, name, id, body ?? {}, tx) }
  if (verb === 'DELETE' && id !== undefined) {
    await records.remove(ctx, name, id, tx)
    return { status: 204, body: null }
  }
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
