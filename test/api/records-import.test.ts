/** Bulk import: the same validation as a create, multi-row writes, errors that name the line. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EngineError } from '../../src/core/errors/index.js'
import { cliContext } from '../../src/services/context.js'
import { importRecords, type ImportItem } from '../../src/services/records/import-records.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

async function* items(bodies: unknown[]): AsyncIterable<ImportItem> {
  for (const [index, body] of bodies.entries()) yield { line: index + 1, body }
}

describe.each(await availableDialects())('import on %s', (dialect) => {
  let t: TestEngine
  const ctx = () => cliContext(t.engine.registry.get('_superusers'))
  const count = async (name: string) =>
    (
      await t.call({ method: 'GET', url: `/api/collections/${name}/records?count=true&perPage=1` })
    ).json().totalItems

  beforeAll(async () => {
    t = await createTestEngine(dialect)
    for (const payload of [
      { name: 'authors', fields: [{ name: 'name', type: 'text', required: true }] },
      {
        name: 'books',
        fields: [
          { name: 'title', type: 'text', required: true },
          { name: 'pages', type: 'number', min: 1, integer: true },
          { name: 'tags', type: 'select', values: ['a', 'b'], maxSelect: 2 },
          { name: 'inPrint', type: 'bool' },
          { name: 'author', type: 'relation', collection: 'authors' },
        ],
      },
    ]) {
      expect((await t.call({ method: 'POST', url: '/api/collections', payload })).statusCode).toBe(
        201,
      )
    }
  })
  afterAll(() => t.close())

  it('loads thousands of records in batches, with defaults for absent fields', async () => {
    const author = (
      await t.call({
        method: 'POST',
        url: '/api/collections/authors/records',
        payload: { id: 'ann', name: 'Ann' },
      })
    ).json()
    const bodies = Array.from({ length: 2500 }, (_, i) => ({
      title: `Book ${i}`,
      pages: i + 1,
      ...(i % 2 ? { author: author.id, tags: ['a'] } : {}),
    }))
    const seen: number[] = []
    const result = await importRecords(t.engine.recordsDeps, ctx(), 'books', items(bodies), {
      batchSize: 1000,
      onProgress: (p) => seen.push(p.imported),
    })
    expect(result).toEqual({ imported: 2500, line: 2500 })
    expect(seen).toEqual([1000, 2000, 2500])
    expect(await count('books')).toBe(2500)
    const page = (
      await t.call({
        method: 'GET',
        url: `/api/collections/books/records?filter=${encodeURIComponent('title = "Book 2"')}&expand=author`,
      })
    ).json()
    expect(page.items[0]).toMatchObject({
      title: 'Book 2',
      pages: 3,
      tags: [],
      inPrint: false,
      author: null,
    })
    const withAuthor = (
      await t.call({
        method: 'GET',
        url: `/api/collections/books/records?filter=${encodeURIComponent('title = "Book 3"')}&expand=author`,
      })
    ).json()
    expect(withAuthor.items[0].expand.author.name).toBe('Ann')
  })

  it('stops at the first invalid record, naming its line, keeping earlier batches', async () => {
    const before = await count('authors')
    const bodies = [
      ...Array.from({ length: 5 }, (_, i) => ({ name: `A${i}` })),
      { name: '' },
      { name: 'after' },
    ]
    const error = await importRecords(t.engine.recordsDeps, ctx(), 'authors', items(bodies), {
      batchSize: 2,
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(EngineError)
    expect((error as EngineError).message).toMatch(/^line 6: .*name/)
    expect((error as EngineError).errors).toHaveProperty('name')
    // Batches [1,2] and [3,4] committed; line 5 was pending in the batch that line 6 stopped.
    expect(await count('authors')).toBe(before + 4)
  })

  it('refuses a relation to a missing record, writing nothing of that batch', async () => {
    const before = await count('books')
    const error = await importRecords(
      t.engine.recordsDeps,
      ctx(),
      'books',
      items([{ title: 'ok' }, { title: 'bad', author: 'nobody' }]),
    ).catch((e: unknown) => e)
    expect((error as EngineError).code).toBe('ER_RELATION_MISSING')
    expect((error as EngineError).message).toMatch(/^line 2: author/)
    expect(await count('books')).toBe(before)
  })

  it('reports a unique clash for the batch and writes nothing of it', async () => {
    const error = await importRecords(
      t.engine.recordsDeps,
      ctx(),
      'authors',
      items([
        { id: 'x1', name: 'X' },
        { id: 'ann', name: 'dup' },
      ]),
    ).catch((e: unknown) => e)
    expect((error as EngineError).code).toBe('ER_RECORD_CONFLICT')
    expect((error as EngineError).message).toMatch(/^lines 1-2: /)
    expect(
      (await t.call({ method: 'GET', url: '/api/collections/authors/records/x1' })).statusCode,
    ).toBe(404)
  })
})
