/**
 * The SQLite work that reads a whole database (`VACUUM INTO`, the integrity check, counting
 * rows) runs in a worker thread: better-sqlite3 is synchronous, and on the server's own thread a
 * backup of a large file would stall every request (and every write the backup is meant to run
 * beside) until it ended. The worker is plain CommonJS given as a string so it runs the same from
 * TypeScript sources (tests) and from the built `dist/`.
 */
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import type { SnapshotFacts } from '../snapshots.js'

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.module)

// Facts of a database file: per table its row count. No per-row checksum: a SQLite archive
// carries the snapshot file itself, byte for byte, so the SHA-256 of that part (checked before
// anything is restored) and the integrity check already prove the rows are the snapshot's;
// hashing every row in JavaScript made a backup about 14 times slower than VACUUM INTO.
function factsOf(db) {
  const tables = {}
  const names = db.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name").pluck().all()
  for (const name of names) {
    const quoted = '"' + name.replaceAll('"', '""') + '"'
    tables[name] = { rows: Number(db.prepare('select count(*) from ' + quoted).pluck().get()) }
  }
  const has = (table) => names.includes(table)
  return {
    tables,
    lastEventId: has('_outbox') ? Number(db.prepare('select coalesce(max(id), 0) from _outbox').pluck().get()) : 0,
    schemaVersion: has('_settings') ? (db.prepare("select value from _settings where key = 'schema_version'").pluck().get() ?? '') : '',
    systemMigrations: has('_system_migrations') ? db.prepare('select name from _system_migrations order by name').pluck().all() : [],
  }
}

const { action, source, target } = workerData
if (action === 'snapshot') {
  // A read-only connection: VACUUM INTO copies from one read transaction, so the copy is the
  // database as of one commit while writers (WAL) go on.
  const db = new Database(source, { readonly: true, fileMustExist: true })
  db.pragma('busy_timeout = 10000')
  db.prepare('vacuum into ?').run(target)
  db.close()
  const copy = new Database(target, { readonly: true, fileMustExist: true })
  const facts = factsOf(copy)
  copy.close()
  parentPort.postMessage({ facts })
} else {
  const db = new Database(source, { readonly: true, fileMustExist: true })
  const problems = db.pragma('integrity_check', { simple: false }).map((row) => row.integrity_check)
  const integrity = problems.length === 1 && problems[0] === 'ok' ? 'ok' : problems.slice(0, 5).join('; ')
  const facts = integrity === 'ok' ? factsOf(db) : { tables: {}, lastEventId: 0, schemaVersion: '', systemMigrations: [] }
  db.close()
  parentPort.postMessage({ integrity, facts })
}
`

const betterSqlite = createRequire(import.meta.url).resolve('better-sqlite3')

/** Copies `source` into `target` (a new file) and reads the copy's facts. */
export function snapshotInWorker(
  source: string,
  target: string,
): Promise<{ facts: SnapshotFacts }> {
  return runWorker({ action: 'snapshot', source, target })
}

/** Runs SQLite's integrity check on `source` and, when it passes, reads its facts. */
export function inspectInWorker(
  source: string,
): Promise<{ integrity: string; facts: SnapshotFacts }> {
  return runWorker({ action: 'inspect', source })
}

function runWorker<T>(data: { action: string; source: string; target?: string }): Promise<T> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { ...data, module: betterSqlite },
    })
    let answered = false
    worker.once('message', (message: T) => {
      answered = true
      resolve(message)
    })
    worker.once('error', reject)
    worker.once('exit', (code) => {
      if (!answered) reject(new Error(`the SQLite snapshot worker stopped (exit code ${code})`))
    })
  })
}
