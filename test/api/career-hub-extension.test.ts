/**
 * The career hub template's extension, loaded from the copy `engineroom init` writes into the
 * data directory, as `serve --extensions` would: an application tells the posting's employer (a
 * `notifications` record only they read), once even when the after hooks see the event again,
 * and nobody else learns of it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cursorKey } from '../../src/services/extensions/after-hooks-runner.js'
import { loadExtension } from '../../src/services/extensions/load-extension.js'
import { applyTemplate } from '../../src/services/templates/apply-template.js'
import { writeTemplateExtension } from '../../src/services/templates/template-extension.js'
import { createRecord, expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return
    await new Promise((done) => setTimeout(done, 25))
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe('the template extension file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'er-hub-ext-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('is written once into the data directory, and an edited copy is kept', () => {
    const first = writeTemplateExtension(dir, 'career-hub')
    expect(first).toEqual({ file: join(dir, 'extensions', 'career-hub.ts'), written: true })
    expect(readFileSync(first.file, 'utf8')).toContain("from 'engineroom'")
    writeFileSync(first.file, '// mine now\n')
    expect(writeTemplateExtension(dir, 'career-hub').written).toBe(false)
    expect(readFileSync(first.file, 'utf8')).toBe('// mine now\n')
  })
})

describe.each(dialects)('the career hub extension on %s', (dialect) => {
  const dir = mkdtempSync(join(tmpdir(), 'er-hub-ext-'))
  let t: TestEngine
  const tokens: Record<string, string> = {}
  const as = (who: string) => ({ authorization: `Bearer ${tokens[who]}` })
  const notificationsOf = async (who: string) => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/api/collections/notifications/records?count=true',
      headers: as(who),
    })
    expect(res.statusCode, res.body).toBe(200)
    return res.json() as { items: Record<string, unknown>[]; totalItems: number }
  }
  const apply = async (who: string, posting: string) => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/collections/applications/records',
      headers: as(who),
      payload: { posting, applicant: `u${who}`, letter: `${who} letter`, status: 'submitted' },
    })
    expect(res.statusCode, res.body).toBe(201)
    return (res.json() as { id: string }).id
  }
  const settled = async () => {
    const { last } = await t.engine.store.outboxBounds()
    await until(
      async () => Number(await t.engine.store.getSetting(cursorKey('main'))) >= last,
      'the after hooks to catch up',
    )
  }

  beforeAll(async () => {
    const { file } = writeTemplateExtension(dir, 'career-hub')
    const extension = await loadExtension(file)
    t = await createTestEngine(dialect, {
      engine: { extension, extensionHooks: { pollMs: 50, backoffMs: 20, maxBackoffMs: 100 } },
    })
    await applyTemplate(t.engine, 'career-hub')
    for (const who of ['ann', 'bob', 'eve']) {
      await createRecord(t, 'users', {
        id: `u${who}`,
        email: `${who}@example.com`,
        password: 'a long password',
      })
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/collections/users/auth/password',
        payload: { identity: `${who}@example.com`, password: 'a long password' },
      })
      tokens[who] = (res.json() as { token: string }).token
    }
    // Eve runs an employer with one posting; the seeded employers have no account.
    for (const [name, body] of [
      ['employers', { id: 'em_eve', name: 'Eve Labs', owner: 'ueve' }],
      ['postings', { id: 'po_eve', employer: 'em_eve', title: 'API developer' }],
    ] as const) {
      const res = await t.app.inject({
        method: 'POST',
        url: `/api/collections/${name}/records`,
        headers: as('eve'),
        payload: body,
      })
      expect(res.statusCode, res.body).toBe(201)
    }
  })
  afterAll(async () => {
    await t?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('tells the employer of each application to their posting, and only them', async () => {
    const annApplied = await apply('ann', 'po_eve')
    await apply('bob', 'po_eve')
    await apply('ann', 'po_lattice_api') // a seeded employer: nobody to tell
    await settled()
    const eve = await notificationsOf('eve')
    expect(eve.totalItems).toBe(2)
    expect(eve.items.map((n) => n.title)).toEqual([
      'New application to "API developer"',
      'New application to "API developer"',
    ])
    expect(eve.items.map((n) => n.application)).toContain(annApplied)
    expect(eve.items.every((n) => n.user === 'ueve')).toBe(true)
    // Applicants learn nothing of the notifications, by list, count or id.
    for (const who of ['ann', 'bob']) expect((await notificationsOf(who)).totalItems).toBe(0)
    const byId = await t.app.inject({
      method: 'GET',
      url: `/api/collections/notifications/records/${String(eve.items[0]?.id)}`,
      headers: as('ann'),
    })
    expect(byId.statusCode).toBe(404)
  })

  it('tells them once, even when the after hooks see every event again', async () => {
    await t.engine.store.setSetting(cursorKey('main'), '0')
    await settled()
    expect((await notificationsOf('eve')).totalItems).toBe(2)
  })

  it('lets the employer mark one read, but not rewrite or forge one', async () => {
    const [first] = (await notificationsOf('eve')).items
    const url = `/api/collections/notifications/records/${String(first?.id)}`
    const read = await t.app.inject({
      method: 'PATCH',
      url,
      headers: as('eve'),
      payload: { read: true },
    })
    expect(read.statusCode, read.body).toBe(200)
    expect((read.json() as { read: boolean }).read).toBe(true)
    for (const payload of [{ title: 'changed' }, { user: 'uann' }]) {
      expectProblem(
        await t.app.inject({ method: 'PATCH', url, headers: as('eve'), payload }),
        403,
        'ER_FORBIDDEN',
      )
    }
    expectProblem(
      await t.app.inject({
        method: 'POST',
        url: '/api/collections/notifications/records',
        headers: as('ann'),
        payload: { user: 'ueve', application: String(first?.application), title: 'fake' },
      }),
      403,
      'ER_FORBIDDEN',
    )
  })
})
