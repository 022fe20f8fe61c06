/**
 * The audit log on both dialects: a privacy erase is recorded in its own transaction, the log
 * is readable by superusers only and paged; changing, removing or swapping rows is detected, and
 * pruning old rows (audit retention) leaves an anchor the chain still verifies from.
 */
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DynamicDb } from '../../src/adapters/store/dynamic-db.js'
import { pruneAudit, verifyAudit } from '../../src/services/audit/audit-log.js'
import { createCollection } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { manualClock } from '../helpers/jobs-engine.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()
const open = { list: '', view: '', create: '', update: '', delete: '' }

for (const dialect of dialects) {
  describe(`audit log (${dialect})`, { timeout: 120_000 }, () => {
    let t: TestEngine
    const ids: string[] = []
    let userToken = ''

    beforeAll(async () => {
      t = await createTestEngine(dialect)
      await createCollection(t, { name: 'users', type: 'auth', fields: [], rules: open })
      for (const name of ['ann', 'bob', 'cat']) {
        const res = await t.call({
          method: 'POST',
          url: '/api/collections/users/records',
          payload: { email: `${name}@example.com`, password: 'correct horse battery' },
        })
        expect(res.statusCode, res.body).toBe(201)
        ids.push(String(res.json().id))
      }
      const login = await t.call({
        method: 'POST',
        url: '/api/collections/users/auth/password',
        payload: { identity: 'cat@example.com', password: 'correct horse battery' },
        anonymous: true,
      })
      userToken = String(login.json().token)
      for (const id of ids.slice(0, 2)) {
        const res = await t.call({
          method: 'POST',
          url: '/api/privacy/erase',
          payload: { collection: 'users', id },
        })
        expect(res.statusCode, res.body).toBe(200)
      }
      const admin = await t.call({
        method: 'POST',
        url: '/api/collections/_superusers/records',
        payload: { email: 'second@example.com', password: 'correct horse battery' },
      })
      expect(admin.statusCode, admin.body).toBe(201)
      ids.push(String(admin.json().id))
      const gone = await t.call({
        method: 'DELETE',
        url: `/api/collections/_superusers/records/${ids[3]}`,
      })
      expect(gone.statusCode, gone.body).toBe(204)
    })
    afterAll(async () => {
      await t?.close()
    })

    it('records schema changes and erases, readable in pages by superusers only', async () => {
      const all = await t.call({ method: 'GET', url: '/api/audit' })
      expect(all.statusCode, all.body).toBe(200)
      const items = all.json().items as Record<string, unknown>[]
      expect(items.map((r) => r.action)).toEqual([
        'superuser.create',
        'schema.change',
        'privacy.erase',
        'privacy.erase',
        'superuser.create',
        'superuser.delete',
      ])
      expect(items.slice(4).map((r) => r.target)).toEqual([
        `_superusers/${ids[3]}`,
        `_superusers/${ids[3]}`,
      ])
      items.shift()
      expect(items[0]).toMatchObject({
        seq: 2,
        detail: { operations: [{ op: 'createCollection', collection: 'users' }] },
      })
      expect(String(items[0]?.target)).toMatch(/^\d{14}-create-users\.json$/)
      expect(String(items[0]?.actor)).toMatch(/^_superusers\//)
      expect(items[1]).toMatchObject({
        seq: 3,
        target: `users/${ids[0]}`,
        detail: { deleted: { users: 1 }, cleared: {}, credentials: 0 },
      })
      const first = await t.call({ method: 'GET', url: '/api/audit?perPage=3' })
      expect(first.json().items).toHaveLength(3)
      expect(first.json().next).toBe(3)
      const rest = await t.call({ method: 'GET', url: '/api/audit?after=3' })
      expect(rest.json().items.map((r: { target: string }) => r.target)[0]).toBe(`users/${ids[1]}`)
      expect(rest.json().items).toHaveLength(3)
      expect(rest.json().items[0].prevHash).toBe(first.json().items[2].hash)
      expect(rest.json().next).toBeUndefined()
      const byUser = await t.call({
        method: 'GET',
        url: '/api/audit',
        headers: { authorization: `Bearer ${userToken}` },
      })
      expect(byUser.statusCode).toBe(403)
      const anonymous = await t.call({ method: 'GET', url: '/api/audit', anonymous: true })
      expect(anonymous.statusCode).toBe(401)
      for (const bad of ['perPage=0', 'perPage=501', 'after=-1', 'after=x']) {
        const res = await t.call({ method: 'GET', url: `/api/audit?${bad}` })
        expect(res.statusCode, bad).toBe(400)
      }
    })

    it('detects a changed row and a removed one', async () => {
      expect(await verifyAudit(t.engine.store)).toEqual({ checked: 6 })
      const db = (t.engine.store as unknown as { db: DynamicDb }).db
      await sql`update ${sql.table('_audit')} set ${sql.id('target')} = 'users/someone-else' where ${sql.id('seq')} = 2`.execute(
        db,
      )
      const changed = await verifyAudit(t.engine.store)
      expect(changed.checked).toBe(1)
      expect(changed.broken?.seq).toBe(2)
      await sql`delete from ${sql.table('_audit')} where ${sql.id('seq')} = 1`.execute(db)
      expect((await verifyAudit(t.engine.store)).broken?.seq).toBe(1)
    })
  })
}

for (const dialect of dialects) {
  describe(`audit log order and retention (${dialect})`, { timeout: 120_000 }, () => {
    let t: TestEngine
    let db: DynamicDb
    // The engine's clock, far from the wall clock: every entry's time must come from it.
    const START = new Date('2031-05-06T07:08:09.000Z')
    const clock = manualClock(START)
    const audit = sql.table('_audit')
    const seqOf = sql.id('seq')
    beforeAll(async () => {
      t = await createTestEngine(dialect, { engine: { clock } })
      db = (t.engine.store as unknown as { db: DynamicDb }).db
    })
    afterAll(async () => {
      await t?.close()
    })
    const change = async (name: string) =>
      createCollection(t, { name, fields: [{ name: 'x', type: 'text' }], rules: open })
    const setSeq = (from: number, to: number) =>
      sql`update ${audit} set ${seqOf} = ${to} where ${seqOf} = ${from}`.execute(db)

    it('detects two entries swapped', async () => {
      for (const name of ['a1', 'a2', 'a3']) await change(name)
      // Row 1 is the test superuser's creation.
      expect(await verifyAudit(t.engine.store)).toEqual({ checked: 4 })
      await setSeq(2, -2)
      await setSeq(3, 2)
      await setSeq(-2, 3)
      const swapped = await verifyAudit(t.engine.store)
      expect(swapped.broken).toEqual({ seq: 2, reason: 'does not link to the row before' })
      await setSeq(3, -3)
      await setSeq(2, 3)
      await setSeq(-3, 2)
      expect(await verifyAudit(t.engine.store)).toEqual({ checked: 4 })
    })

    it('prunes old entries behind an anchor the chain still verifies from', async () => {
      const before = await t.engine.store.audit.page(0, 100)
      expect(before.map((r) => r.at.slice(0, 10))).toEqual(before.map(() => '2031-05-06'))
      clock.advance(60_000)
      const cutoff = clock.now().toISOString()
      clock.advance(60_000)
      for (const name of ['b1', 'b2']) await change(name)
      clock.advance(60_000)
      expect(await pruneAudit(t.engine.store, cutoff, t.engine.clock)).toBe(4)
      const rows = await t.engine.store.audit.page(0, 100)
      // Times from the engine's clock: the two changes after the cutoff, the anchor a minute on.
      expect(rows.map((r) => r.at)).toEqual(
        [120_000, 120_000, 180_000]
          .map((ms) => new Date(before[0]!.at).getTime() + ms)
          .map((ms) => new Date(ms).toISOString()),
      )
      expect(rows.map((r) => `${r.seq} ${r.action}`)).toEqual([
        '5 schema.change',
        '6 schema.change',
        '7 audit.prune',
      ])
      const anchor = rows[2]!
      expect(anchor.actor).toBe('system')
      expect(JSON.parse(anchor.detail)).toMatchObject({
        throughSeq: 4,
        throughHash: rows[0]!.prevHash,
        removed: 4,
      })
      expect(await verifyAudit(t.engine.store)).toEqual({ checked: 3 })
      // Entries appended after a prune extend the same chain.
      await change('b3')
      expect(await verifyAudit(t.engine.store)).toEqual({ checked: 4 })
      // Nothing is old enough: a second prune removes nothing and adds no anchor.
      expect(await pruneAudit(t.engine.store, cutoff, t.engine.clock)).toBe(0)

      // Removing a kept row beyond the anchor's reach is detected …
      const kept = rows[0]!
      await sql`delete from ${audit} where ${seqOf} = 5`.execute(db)
      expect((await verifyAudit(t.engine.store)).broken?.seq).toBe(5)
      await t.engine.store.audit.insert(kept)
      expect((await verifyAudit(t.engine.store)).broken).toBeUndefined()
      // … and so is an anchor edited to cover it, or removed.
      const forged = JSON.stringify({ ...JSON.parse(anchor.detail), throughSeq: 5 })
      await sql`update ${audit} set ${sql.id('detail')} = ${forged} where ${seqOf} = 7`.execute(db)
      await sql`delete from ${audit} where ${seqOf} = 5`.execute(db)
      expect((await verifyAudit(t.engine.store)).broken?.seq).toBe(6)
      await sql`delete from ${audit} where ${seqOf} = 7`.execute(db)
      expect((await verifyAudit(t.engine.store)).broken?.seq).toBe(1)
    })
  })
}
