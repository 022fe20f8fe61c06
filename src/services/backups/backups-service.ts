import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { EngineError } from '../../core/errors/index.js'
import { requireSuperuser } from '../access.js'
import type { RequestContext } from '../context.js'
import { createBackup, type BackupProgress, type BackupSources } from './create-backup.js'
import { backupTime } from './backup-names.js'
import { backupsToKeep, type RetentionPolicy } from './backup-retention.js'
import { readBackup } from './read-backup.js'
import type { BackupManifest } from './backup-manifest.js'
import { createLocalBackupTarget, type BackupTarget } from './backup-target.js'

export type { BackupListing } from './backup-target.js'

/** The outcome of one backup run (scheduled or asked for), for metrics and the API. */
export interface BackupRun {
  name?: string
  started: string
  durationMs: number
  size: number
  /** True once the archive was read back whole and matched its manifest. */
  verified: boolean
  /** The snapshot's last outbox event: every write acknowledged before it is in the backup. */
  lastEventId?: number
  /** Archives deleted by the retention policy after this one. */
  pruned: string[]
  error?: string
}

export interface BackupsSettings {
  sources: BackupSources
  /** `ER_BACKUP_DIR`: where archives are built (and kept, without another `target`). */
  dir: string
  /** Where finished archives are kept (default: `dir` itself). */
  target?: BackupTarget | undefined
  key?: Buffer | undefined
  keep?: RetentionPolicy | undefined
}

/**
 * Backups as the API and the scheduler see them: list, take (then verify, then prune), and
 * download, for superusers. One backup runs at a time per process.
 *
 * @example
 *   const backups = createBackupsService({ sources, dir: 'er_data/backups', keep: { last: 7 } })
 *   const run = await backups.takeVerified()   // { name, size, verified: true, pruned: [...] }
 */
export function createBackupsService(settings: BackupsSettings) {
  const target = targetOf(settings)
  let running: Promise<unknown> = Promise.resolve()
  let last: BackupRun | undefined
  const totals = { verified: 0, failed: 0, lastVerifiedAt: 0 }

  const list = () => target.list()
  /** Takes a backup, reads it back whole to verify it, then applies the retention policy. */
  async function takeVerified(onProgress?: (p: BackupProgress) => void): Promise<BackupRun> {
    const turn = running.then(async () => {
      const started = new Date()
      const run: BackupRun = {
        started: started.toISOString(),
        durationMs: 0,
        size: 0,
        verified: false,
        pruned: [],
      }
      try {
        const { manifest, ...taken } = await takeBackup(settings, { verify: true, onProgress })
        Object.assign(run, taken, { lastEventId: manifest.lastEventId })
      } catch (error) {
        run.error = error instanceof Error ? error.message : String(error)
      }
      run.durationMs = Date.now() - started.getTime()
      if (run.verified) {
        totals.verified++
        totals.lastVerifiedAt = Date.now()
      } else totals.failed++
      last = run
      return run
    })
    running = turn.catch(() => {})
    return turn
  }

  /** The archive's bytes; only names `list` gives are served (never a path). */
  async function open(name: string): Promise<{ body: Readable; size: number }> {
    const found = backupTime(name) && (await target.open(name))
    if (!found)
      throw new EngineError('ER_BACKUP_NOT_FOUND', `There is no backup "${name.slice(0, 100)}".`)
    return found
  }

  return {
    /** The last run's outcome in this process (undefined before the first). */
    lastRun: () => last,
    /** Runs in this process by outcome, and when the last verified one ended (ms, 0: never). */
    totals: () => ({ ...totals }),
    takeVerified,
    /** Where archives are kept. */
    target,
    async list(ctx: RequestContext) {
      requireBackupAdmin(ctx)
      return { items: await list() }
    },
    async create(ctx: RequestContext) {
      requireBackupAdmin(ctx)
      const run = await takeVerified()
      if (run.error) throw new EngineError('ER_INTERNAL', `The backup failed: ${run.error}`)
      return run
    },
    async download(ctx: RequestContext, name: string) {
      requireBackupAdmin(ctx)
      return open(name)
    },
  }
}

export type BackupsService = ReturnType<typeof createBackupsService>

/**
 * Takes a backup into `settings.dir`; with `verify`, reads it back whole and checks it (see
 * `readBackup`); hands it to the target (an upload, for S3); then applies the retention policy
 * there. Throws what failed (the archive of a backup that fails verification is deleted: it
 * could not be restored).
 */
export async function takeBackup(
  settings: BackupsSettings,
  options: { verify: boolean; onProgress?: ((p: BackupProgress) => void) | undefined },
): Promise<
  Omit<BackupRun, 'started' | 'durationMs' | 'lastEventId'> & { manifest: BackupManifest }
> {
  const target = targetOf(settings)
  // Built beside the archives it joins, or in a folder of its own when they live elsewhere.
  const outDir = target.kind === 'local' ? settings.dir : await buildFolder(settings.dir)
  const created = await createBackup(settings.sources, {
    outDir,
    ...(settings.key ? { key: settings.key } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  })
  if (options.verify) {
    const staging = await mkdtemp(join(settings.dir, '.verify-'))
    try {
      await readBackup(settings.sources.snapshots, created.path, {
        ...(settings.key ? { key: settings.key } : {}),
        staging,
        keepFiles: false,
      })
    } catch (error) {
      await rm(created.path, { force: true })
      throw error
    } finally {
      await rm(staging, { recursive: true, force: true })
    }
  }
  try {
    await target.keep(created.name, created.path)
  } finally {
    if (target.kind !== 'local') await rm(outDir, { recursive: true, force: true })
  }
  const pruned = settings.keep ? await pruneBackups(target, settings.keep) : []
  return {
    name: created.name,
    size: created.size,
    verified: options.verify,
    pruned,
    manifest: created.manifest,
  }
}

/** Deletes the archives of `target` that `policy` does not keep; returns their names. */
export async function pruneBackups(
  target: BackupTarget,
  policy: RetentionPolicy,
): Promise<string[]> {
  const items = (await target.list()).map((i) => ({ name: i.name, created: new Date(i.created) }))
  const keep = backupsToKeep(items, policy)
  const removed: string[] = []
  for (const item of items) {
    if (keep.has(item.name)) continue
    await target.delete(item.name)
    removed.push(item.name)
  }
  return removed
}

function targetOf(settings: BackupsSettings): BackupTarget {
  return settings.target ?? createLocalBackupTarget(settings.dir)
}

/** A fresh folder under `dir` for one archive on its way to a remote target. */
async function buildFolder(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  return mkdtemp(join(dir, '.upload-'))
}

/** A signed-in superuser; never an API key, whatever its scopes (a backup holds everything). */
function requireBackupAdmin(ctx: RequestContext): void {
  requireSuperuser(ctx)
  if (ctx.auth?.apiKey)
    throw new EngineError('ER_FORBIDDEN', 'API keys cannot take or read backups.')
}
