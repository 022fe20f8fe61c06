import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs'
import { mkdir, open } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { once } from 'node:events'
import { setTimeout } from 'node:timers/promises'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import type { Header } from 'tar-stream'
import { assertBlobKey } from '../../adapters/blobs/blobs.js'
import type { DatabaseSnapshots } from '../../adapters/snapshots/snapshots.js'
import { EngineError } from '../../core/errors/index.js'
import { createDecryptStream, isEncryptedArchive } from './archive-crypto.js'
import {
  compareFacts,
  MANIFEST_MAX_BYTES,
  MANIFEST_PATH,
  parseManifest,
  type BackupManifest,
  type ManifestPart,
} from './backup-manifest.js'

export interface VerifiedBackup {
  manifest: BackupManifest
  /** Where the parts were written: `database/`, `migrations/`, and `files/` when kept. */
  staging: string
}

/**
 * Reads an archive end to end into `staging` and checks it: the encryption (every chunk's tag,
 * nothing cut off), gzip's CRC, every entry against the manifest's size and SHA-256 (none
 * missing, none extra), then restores the database into a scratch place and compares its
 * integrity check, row counts, checksums and last event with the manifest. Stored files are
 * written to `staging/files/` only when `keepFiles` (a restore); `verify` just hashes them.
 * Throws `ER_BACKUP_CORRUPT` or `ER_BACKUP_KEY_INVALID`; nothing outside `staging` is touched.
 */
export async function readBackup(
  snapshots: DatabaseSnapshots,
  archive: string,
  options: { key?: Buffer; staging: string; keepFiles: boolean },
): Promise<VerifiedBackup> {
  const found = new Map<string, ManifestPart>()
  let manifestText: string | undefined
  let failure: Promise<unknown> = Promise.resolve(undefined)
  try {
    const extract = (await import('tar-stream')).extract()
    const stages = await openArchive(archive, options.key)
    const fed = pipeline([...stages, createGunzip(), extract])
    failure = fed.then(
      () => undefined,
      (error: unknown) => error,
    )
    for await (const item of extract) {
      const entry = item as unknown as AsyncIterable<Buffer> & { header: Header }
      const path = entry.header.name
      if (entry.header.type !== 'file') throw corrupt(`it holds a ${entry.header.type} entry`)
      if (found.has(path) || (path === MANIFEST_PATH && manifestText !== undefined)) {
        throw corrupt(`"${path}" appears twice`)
      }
      if (path === MANIFEST_PATH) {
        manifestText = (await readEntry(entry, undefined, MANIFEST_MAX_BYTES)).text
        continue
      }
      const target = stagingPath(options.staging, path, options.keepFiles)
      found.set(path, { path, ...(await readEntry(entry, target)) })
    }
    await fed
  } catch (error) {
    if (error instanceof EngineError) throw error
    // The iterator may fail with a mere "premature close": the stage that failed first (a wrong
    // key, a failed tag) says what happened.
    const first = await Promise.race([failure, setTimeout(1000, undefined)])
    if (first instanceof EngineError) throw first
    throw corrupt(((first ?? error) as Error).message)
  }
  if (manifestText === undefined) throw corrupt('it has no manifest (truncated?)')
  const manifest = parseManifest(manifestText)
  checkParts(manifest, found)
  if (manifest.database.dialect !== snapshots.dialect) {
    throw new EngineError(
      'ER_VALIDATION_FAILED',
      manifest.database.dialect === 'postgres'
        ? 'This is a PostgreSQL backup: set DATABASE_URL to a PostgreSQL server to verify or restore it.'
        : 'This is a SQLite backup: unset DATABASE_URL to verify or restore it.',
    )
  }
  const inspected = await snapshots.inspect(join(options.staging, 'database'), manifest.database)
  if (inspected.integrity !== 'ok') {
    throw corrupt(`the restored database fails its integrity check (${inspected.integrity})`)
  }
  const problems = compareFacts(manifest, inspected.facts)
  if (problems.length > 0) throw corrupt(`the restored database differs: ${problems.join('; ')}`)
  return { manifest, staging: options.staging }
}

/** The streams giving the archive's bytes as gzip: decrypted on the way when it is encrypted. */
async function openArchive(
  archive: string,
  key: Buffer | undefined,
): Promise<NodeJS.ReadableStream[]> {
  let head: Buffer
  try {
    const handle = await open(archive, 'r')
    try {
      head = Buffer.alloc(8)
      await handle.read(head, 0, 8, 0)
    } finally {
      await handle.close()
    }
  } catch (error) {
    throw new EngineError(
      'ER_BACKUP_NOT_FOUND',
      `Cannot read the archive ${archive} (${(error as NodeJS.ErrnoException).code ?? 'error'}).`,
    )
  }
  if (!isEncryptedArchive(head)) return [createReadStream(archive)]
  if (!key) {
    throw new EngineError(
      'ER_BACKUP_KEY_INVALID',
      'The archive is encrypted: give its key with --key-file <file> or ER_BACKUP_KEY.',
    )
  }
  return [createReadStream(archive), createDecryptStream(key)]
}

/**
 * Where an entry goes: `database/<part>` and `migrations/<file>` always, `files/<blob key>` when
 * files are kept (else nowhere: it is only hashed). Any other name, or one that could climb out
 * of the folder, is a damaged (or hostile) archive.
 */
function stagingPath(staging: string, path: string, keepFiles: boolean): string | undefined {
  const flat = /^(database|migrations)\/([A-Za-z0-9_.-]{1,200})$/.exec(path)
  if (flat && flat[2] !== '.' && flat[2] !== '..')
    return join(staging, flat[1] as string, flat[2] as string)
  if (path.startsWith('files/')) {
    try {
      assertBlobKey(path.slice('files/'.length))
    } catch {
      throw corrupt(`it holds an entry with an unsafe name`)
    }
    return keepFiles ? join(staging, ...path.split('/')) : undefined
  }
  throw corrupt(`it holds an unexpected entry "${path.slice(0, 100)}"`)
}

/** Reads an entry to its end, hashing it, into `target` when given (else into text, bounded). */
async function readEntry(
  entry: AsyncIterable<Buffer>,
  target: string | undefined,
  maxTextBytes = 0,
): Promise<{ size: number; sha256: string; text: string }> {
  const hash = createHash('sha256')
  let size = 0
  const texts: Buffer[] = []
  let out: WriteStream | undefined
  if (target) {
    await mkdir(dirname(target), { recursive: true, mode: 0o700 })
    out = createWriteStream(target, { mode: 0o600, flags: 'wx' })
  }
  try {
    for await (const chunk of entry) {
      hash.update(chunk)
      size += chunk.length
      if (out) {
        if (!out.write(chunk)) await once(out, 'drain')
      } else if (maxTextBytes > 0) {
        if (size > maxTextBytes) throw corrupt('its manifest is too large')
        texts.push(chunk)
      }
    }
  } finally {
    if (out) {
      out.end()
      await once(out, 'close')
    }
  }
  return { size, sha256: hash.digest('hex'), text: Buffer.concat(texts).toString('utf8') }
}

function checkParts(manifest: BackupManifest, found: Map<string, ManifestPart>): void {
  const listed = new Set<string>()
  for (const part of manifest.parts) {
    listed.add(part.path)
    const got = found.get(part.path)
    if (!got) throw corrupt(`"${part.path}" is missing`)
    if (got.size !== part.size || got.sha256 !== part.sha256) {
      throw corrupt(`"${part.path}" does not match its SHA-256 in the manifest`)
    }
  }
  for (const path of found.keys()) {
    if (!listed.has(path)) throw corrupt(`"${path.slice(0, 100)}" is not in the manifest`)
  }
}

function corrupt(reason: string): EngineError {
  return new EngineError(
    'ER_BACKUP_CORRUPT',
    `The archive is damaged: ${reason}. Nothing was restored; use another copy.`,
  )
}
