/**
 * Small assertions shared by the HTTP suites in `test/api/`: problem documents, and creating
 * collections and records through the front door with the status checked on the way.
 */
import type { LightMyRequestResponse } from 'fastify'
import { expect } from 'vitest'
import type { TestEngine } from './test-engine.js'

export interface ProblemBody {
  type: string
  title: string
  status: number
  detail: string
  code: string
  errors?: Record<string, { code: string; message: string }[]>
  [extension: string]: unknown
}

/** Asserts an RFC 9457 problem with this status and code, and returns its body. */
export function expectProblem(
  res: LightMyRequestResponse,
  status: number,
  code: string,
): ProblemBody {
  expect(res.statusCode, res.body).toBe(status)
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
  const body = res.json() as ProblemBody
  expect(body).toMatchObject({ status, code, type: `urn:engineroom:error:${code}` })
  expect(typeof body.title).toBe('string')
  expect(typeof body.detail).toBe('string')
  return body
}

/** `POST /api/collections`, expecting 201. */
export async function createCollection(
  t: TestEngine,
  definition: unknown,
): Promise<Record<string, unknown>> {
  const res = await t.call({
    method: 'POST',
    url: '/api/collections',
    payload: definition as object,
  })
  expect(res.statusCode, res.body).toBe(201)
  return res.json() as Record<string, unknown>
}

/** `POST /api/collections/{name}/records`, expecting 201. */
export async function createRecord(
  t: TestEngine,
  name: string,
  body: object,
): Promise<Record<string, unknown>> {
  const res = await t.call({
    method: 'POST',
    url: `/api/collections/${name}/records`,
    payload: body,
  })
  expect(res.statusCode, res.body).toBe(201)
  return res.json() as Record<string, unknown>
}

/** `GET …/records` with the query given as an object (URL-encoded here), expecting 200. */
export async function listRecords(
  t: TestEngine,
  name: string,
  query: Record<string, string> = {},
): Promise<{
  items: Record<string, unknown>[]
  nextCursor: string | null
  totalItems?: number
  page: number
  perPage: number
}> {
  const res = await t.call({
    method: 'GET',
    url: `/api/collections/${name}/records?${new URLSearchParams(query)}`,
  })
  expect(res.statusCode, res.body).toBe(200)
  return res.json()
}

/** Every item of a list, following `nextCursor`. */
export async function listAll(
  t: TestEngine,
  name: string,
  query: Record<string, string> = {},
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = []
  let cursor: string | null = null
  for (let guard = 0; guard < 1000; guard++) {
    const page = await listRecords(t, name, { ...query, ...(cursor ? { cursor } : {}) })
    items.push(...page.items)
    cursor = page.nextCursor
    if (!cursor) return items
  }
  throw new Error('cursor pagination did not end')
}
