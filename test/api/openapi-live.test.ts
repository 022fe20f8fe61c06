/** The OpenAPI document follows the live schema and stays valid through schema changes. */
import { Validator } from '@seriousme/openapi-schema-validator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

describe.each(await availableDialects())('OpenAPI document on %s', (dialect) => {
  let t: TestEngine
  beforeAll(async () => {
    t = await createTestEngine(dialect)
  })
  afterAll(() => t.close())

  async function documentNow(anonymous = true) {
    const response = await t.call({ method: 'GET', url: '/api/openapi.json', anonymous })
    expect(response.statusCode).toBe(200)
    const document = response.json()
    const result = await new Validator().validate(document)
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
    return document as {
      paths: Record<string, unknown>
      components: { schemas: Record<string, { properties?: object }> }
    }
  }

  it('describes a new collection, then its renamed field, then its absence', async () => {
    expect(Object.keys((await documentNow()).paths)).not.toContain('/api/collections/notes/records')
    const created = await t.call({
      method: 'POST',
      url: '/api/collections',
      payload: {
        name: 'notes',
        fields: [
          { name: 'body', type: 'text' },
          { name: 'secret', type: 'text', hidden: true },
        ],
        rules: { list: '', view: '', create: null, update: null, delete: null },
      },
    })
    expect(created.statusCode).toBe(201)
    let document = await documentNow()
    expect(document.paths).toHaveProperty(['/api/collections/notes/records'])
    expect(document.paths).toHaveProperty(['/api/collections/notes/records/{id}'])
    const record = document.components.schemas.NotesRecord?.properties ?? {}
    expect(Object.keys(record)).toContain('body')
    expect(Object.keys(record)).not.toContain('secret')
    // A superuser's document names the hidden field: its value is returned to superusers.
    const full = await documentNow(false)
    expect(Object.keys(full.components.schemas.NotesRecord?.properties ?? {})).toContain('secret')

    const fields = created
      .json()
      .fields.map((f: { name: string }) => (f.name === 'body' ? { ...f, name: 'text' } : f))
    expect(
      (await t.call({ method: 'PATCH', url: '/api/collections/notes', payload: { fields } }))
        .statusCode,
    ).toBe(200)
    document = await documentNow()
    expect(Object.keys(document.components.schemas.NotesRecord?.properties ?? {})).toContain('text')

    expect((await t.call({ method: 'DELETE', url: '/api/collections/notes' })).statusCode).toBe(204)
    expect(Object.keys((await documentNow()).paths)).not.toContain('/api/collections/notes/records')
  })

  it('serves the rendered docs page', async () => {
    const page = await t.call({ method: 'GET', url: '/api/docs', anonymous: true })
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toMatch(/text\/html/)
    expect(page.body).toContain('/api/docs/swagger-ui-bundle.js')
  })
})
