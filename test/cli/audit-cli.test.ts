/**
 * `engineroom audit verify` against a real data directory (SQLite): a sound chain exits 0, a
 * row whose hash does not match exits 1 naming that row, with no stack trace.
 */
import Database from 'better-sqlite3'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { auditHash, canonicalJson, GENESIS_HASH } from '../../src/services/audit/audit-log.js'
import { runCli } from '../helpers/server-process.js'

const root = mkdtempSync(join(tmpdir(), 'er-audit-cli-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('engineroom audit verify (SQLite)', { timeout: 120_000 }, () => {
  it('passes a sound chain and names the first altered row', () => {
    const env = { ER_DIR: join(root, 'data') }
    const migrated = runCli(['migrate'], env)
    expect(migrated.code, migrated.err).toBe(0)
    const empty = runCli(['audit', 'verify'], env)
    expect(empty.out).toContain('0 rows verified')
    const db = new Database(join(root, 'data', 'data.db'))
    let prev = GENESIS_HASH
    for (let seq = 1; seq <= 3; seq++) {
      const row = {
        seq,
        at: new Date(Date.UTC(2026, 0, seq)).toISOString(),
        actor: '_superusers/root',
        action: 'privacy.erase',
        target: `users/u${seq}`,
        detail: canonicalJson({ deleted: { users: 1 } }),
      }
      const hash = auditHash(prev, row)
      db.prepare(
        'insert into _audit (seq, at, actor, action, target, detail, prev_hash, hash) values (?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(row.seq, row.at, row.actor, row.action, row.target, row.detail, prev, hash)
      prev = hash
    }
    const sound = runCli(['audit', 'verify'], env)
    expect(sound.code, sound.out + sound.err).toBe(0)
    expect(sound.out).toContain('3 rows verified')

    db.prepare('update _audit set detail = \'{"deleted":{"users":0}}\' where seq = 2').run()
    db.close()
    const broken = runCli(['audit', 'verify'], env)
    expect(broken.code, broken.out + broken.err).toBe(1)
    expect(broken.err).toContain('Audit row 2 is broken')
    expect(broken.err).not.toMatch(/\n\s+at /)
  })
})
