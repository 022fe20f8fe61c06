/**
 * A read made outside a transaction never sees another transaction's uncommitted rows. On
 * SQLite such reads skip Kysely's connection lock (sqlite-store.ts `directReads`) while no
 * transaction is open on the connection; this is the case that must still wait.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Row } from '../../src/adapters/store/store.js'
import { createCollection } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

describe.each(await availableDialects())('reads beside an open transaction on %s', (dialect) => {
  let t: TestEngine
  let reads = 0
  let writes = 0
  beforeAll(async () => {
    t = await createTestEngine(dialect, {
      onQuery: (event) => {
        if (!event.sql.includes('"notes"')) return
        if (/^\s*select/i.test(event.sql)) reads++
        if (/^\s*(insert|update)/i.test(event.sql)) writes++
      },
    })
    await createCollection(t, { name: 'notes', fields: [{ name: 'text', type: 'text' }] })
  })
  afterAll(() => t.close())

  const row = (id: string): Row => {
    const at = new Date().toISOString()
    return { id, created: at, updated: at, text: 'uncommitted' }
  }

  it('does not see a row that is then rolled back', async () => {
    const notes = t.engine.registry.get('notes')
    let inserted!: () => void
    let rollBack!: () => void
    const insertedOnce = new Promise<void>((resolve) => (inserted = resolve))
    const gate = new Promise<void>((resolve) => (rollBack = resolve))
    const writing = t.engine.store
      .transaction(async (tx) => {
        await tx.insertRecord(notes, row('phantom'))
        inserted()
        await gate
        throw new Error('roll back')
      })
      .catch((error: unknown) => error)
    await insertedOnce
    const reading = Promise.all([
      t.engine.store.selectByIds(notes, ['phantom']),
      t.engine.store.selectRecords({
        collection: notes,
        where: [],
        sort: [{ path: { field: 'id' }, desc: false }],
        limit: 10,
      }),
    ])
    rollBack()
    expect(String(await writing)).toMatch(/roll back/)
    const [byId, page] = await reading
    expect(byId).toEqual([])
    expect(page.rows).toEqual([])
  })

  it('reads at once, observed like any statement, when no transaction is open', async () => {
    const notes = t.engine.registry.get('notes')
    await t.engine.store.transaction((tx) => tx.insertRecord(notes, row('kept')))
    const before = reads
    const [found] = await t.engine.store.selectByIds(notes, ['kept'])
    expect(found).toMatchObject({ id: 'kept', text: 'uncommitted' })
    expect(reads - before).toBe(1)
  })

  it('runs the statements of a transaction on its connection, reading its own writes', async () => {
    // On SQLite they skip Kysely's executor (sqlite-store.ts `heldConnection`).
    const notes = t.engine.registry.get('notes')
    const [readsBefore, writesBefore] = [reads, writes]
    await t.engine.store.transaction(async (tx) => {
      await tx.insertRecord(notes, row('own'))
      const [seen] = await tx.selectByIds(notes, ['own'])
      expect(seen).toMatchObject({ id: 'own', text: 'uncommitted' })
      expect(await tx.updateRecord(notes, 'own', { text: 'changed' })).toBe(1)
      expect(await tx.updateRecord(notes, 'nobody', { text: 'changed' })).toBe(0)
    })
    expect([reads - readsBefore, writes - writesBefore]).toEqual([1, 3])
    const [after] = await t.engine.store.selectByIds(notes, ['own'])
    expect(after).toMatchObject({ id: 'own', text: 'changed' })
  })
})
