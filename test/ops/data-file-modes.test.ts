/**
 * The SQLite file holds password hashes, the token signing keys and the server secret: nobody
 * but its owner may read it. (PostgreSQL keeps its own files; this is the embedded mode's.)
 */
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openSqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js'

const modeOf = (path: string) => statSync(path).mode & 0o777

describe('data directory and database file modes', () => {
  const made: string[] = []
  afterEach(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true })
  })

  it('a new data directory is 0700 and the database, WAL and SHM files 0600', async () => {
    const root = mkdtempSync(join(tmpdir(), 'er-modes-'))
    made.push(root)
    const dir = join(root, 'er_data')
    const store = await openSqliteStore({ file: join(dir, 'data.db') })
    await store.setSetting('probe', 'written') // a write, so the WAL exists
    expect(modeOf(dir)).toBe(0o700)
    for (const file of ['data.db', 'data.db-wal', 'data.db-shm']) {
      expect(modeOf(join(dir, file)), file).toBe(0o600)
    }
    await store.close()
  })

  it('narrows the file of an older install, readable by all, to 0600', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'er-modes-'))
    made.push(dir)
    const file = join(dir, 'data.db')
    writeFileSync(file, '')
    chmodSync(file, 0o644)
    const store = await openSqliteStore({ file })
    expect(modeOf(file)).toBe(0o600)
    await store.close()
  })
})
