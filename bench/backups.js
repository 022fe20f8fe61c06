/**
 * The backups scenarios on SQLite, each against a raw floor measured in the same run on the
 * same database file:
 *   - backup MB/s (snapshot, gzip, SHA-256 of every part, manifest) against `VACUUM INTO` alone;
 *   - verify MB/s (read back, restore to scratch, integrity check, row counts and checksums);
 *   - restore MB/s (verify, then put the database in place) against a plain file copy;
 *   - writes/s through the engine while backups run back to back, against writes/s without.
 * MB/s are of the database file's size. The writer and the backups share one process, as a
 * scheduled backup does inside `serve`.
 *
 *   npm run build && BENCH_ONLY=backups node --expose-gc bench/run.js
 *   npm run build && node bench/backups.js          (this scenario alone)
 */
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { openLocalBlobs } from '../dist/adapters/blobs/local/local-blobs.js'
import { createSqliteSnapshots } from '../dist/adapters/snapshots/sqlite/sqlite-snapshots.js'
import { openSqliteStore } from '../dist/adapters/store/sqlite/sqlite-store.js'
import { SUPERUSERS } from '../dist/core/schema/system-collections.js'
import { createBackup } from '../dist/services/backups/create-backup.js'
import { readBackup } from '../dist/services/backups/read-backup.js'
import { restoreBackup } from '../dist/services/backups/restore-backup.js'
import { createArgon2Hasher } from '../dist/services/auth/password-hasher.js'
import { cliContext } from '../dist/services/context.js'
import { createEngine } from '../dist/services/create-engine.js'
import { seed } from './seed.js'

const MB = 1024 * 1024

/** Runs `work` `rounds` times; the best (shortest) time in seconds. */
async function best(rounds, work) {
  let fastest = Infinity
  for (let i = 0; i < rounds; i++) {
    const started = performance.now()
    await work(i)
    fastest = Math.min(fastest, (performance.now() - started) / 1000)
  }
  return fastest
}

/** Creates records one by one for `seconds`; writes per second. */
async function writeFor(engine, seconds) {
  const ctx = cliContext(SUPERUSERS)
  const end = performance.now() + seconds * 1000
  let writes = 0
  while (performance.now() < end) {
    await engine.records.create(ctx, 'posts', { title: `written ${writes}`, views: writes })
    writes++
  }
  return writes / seconds
}

export async function measureBackups(settings = {}) {
  const quick = settings.quick ?? process.env.BENCH_QUICK === '1'
  const records = quick ? 50_000 : 200_000
  const rounds = quick ? 2 : 3
  const seconds = settings.seconds ?? (quick ? 3 : 8)
  const dir = mkdtempSync(join(tmpdir(), 'er-bench-backups-'))
  try {
    const { engineFile } = await seed({ dir, count: records, log: () => {} })
    const migrationsDir = join(dir, 'migrations')
    const size = statSync(engineFile).size
    const snapshots = createSqliteSnapshots({ file: engineFile })
    const blobs = await openLocalBlobs({ root: join(dir, 'storage') })
    const sources = { snapshots, blobs, migrationsDir }
    const out = join(dir, 'backups')

    let archive
    const backup = await best(rounds, async () => {
      const taken = await createBackup(sources, { outDir: out })
      if (archive) rmSync(archive, { force: true })
      archive = taken.path
    })
    const db = new Database(engineFile, { readonly: true })
    const vacuum = await best(rounds, async (i) => {
      const copy = join(dir, `vacuum-${i}.db`)
      db.prepare('vacuum into ?').run(copy)
      rmSync(copy, { force: true })
    })
    db.close()
    const verify = await best(rounds, async (i) => {
      const staging = join(dir, `verify-${i}`)
      await readBackup(snapshots, archive, { staging, keepFiles: false })
      rmSync(staging, { recursive: true, force: true })
    })
    const restore = await best(rounds, async (i) => {
      const target = join(dir, `restored-${i}`)
      await restoreBackup(
        {
          snapshots: createSqliteSnapshots({ file: join(target, 'data.db') }),
          openBlobs: () => openLocalBlobs({ root: join(target, 'storage') }),
          dataDir: target,
          migrationsDir: join(target, 'migrations'),
        },
        archive,
        { force: false },
      )
      rmSync(target, { recursive: true, force: true })
    })
    const copy = await best(rounds, async (i) => {
      const target = join(dir, `copy-${i}.db`)
      copyFileSync(engineFile, target)
      rmSync(target, { force: true })
    })

    // Writes alone, then writes while backups run back to back (each a full snapshot).
    const store = await openSqliteStore({ file: engineFile })
    const passwords = createArgon2Hasher({ memoryCost: 1024, timeCost: 1 })
    const engine = await createEngine({ store, migrationsDir, passwords })
    let backupsDuringWrites = 0
    let writesAlone
    let writesDuring
    try {
      writesAlone = await writeFor(engine, seconds)
      let writing = true
      const backups = (async () => {
        while (writing) {
          const taken = await createBackup(sources, { outDir: out })
          rmSync(taken.path, { force: true })
          backupsDuringWrites++
        }
      })()
      writesDuring = await writeFor(engine, seconds)
      writing = false
      await backups
    } finally {
      await engine.close()
      await blobs.close()
    }
    const mbps = (s) => size / MB / s
    return {
      databaseMB: size / MB,
      records,
      backupsDuringWrites,
      rows: [
        { name: 'backup vs VACUUM INTO', unit: 'MB/s', engine: mbps(backup), floor: mbps(vacuum) },
        { name: 'verify vs VACUUM INTO', unit: 'MB/s', engine: mbps(verify), floor: mbps(vacuum) },
        { name: 'restore vs file copy', unit: 'MB/s', engine: mbps(restore), floor: mbps(copy) },
        {
          name: 'writes during backups vs none',
          unit: 'writes/s',
          engine: writesDuring,
          floor: writesAlone,
        },
      ],
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export function printBackups(result) {
  console.log(
    `\nBackups (SQLite, ${result.records.toLocaleString('en')} posts, ${result.databaseMB.toFixed(1)} MB database; ` +
      `${result.backupsDuringWrites} backups taken during the write window)`,
  )
  console.log('| scenario | engine | floor | engine/floor |')
  console.log('| --- | ---: | ---: | ---: |')
  for (const row of result.rows) {
    const f = (n) => `${n.toFixed(1)} ${row.unit}`
    console.log(
      `| ${row.name} | ${f(row.engine)} | ${f(row.floor)} | ${(row.engine / row.floor).toFixed(2)} |`,
    )
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  printBackups(await measureBackups())
}
