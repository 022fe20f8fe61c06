import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join, resolve } from 'node:path'
import type { Command } from 'commander'
import { dataPaths, type Config } from '../../config/config.js'
import { EngineError } from '../../core/errors/index.js'
import { newBackupKey, readBackupKeyFile } from '../../services/backups/backup-key.js'
import type { BackupManifest } from '../../services/backups/backup-manifest.js'
import { takeBackup } from '../../services/backups/backups-service.js'
import { backupTime } from '../../services/backups/backup-names.js'
import { createLocalBackupTarget } from '../../services/backups/backup-target.js'
import type { BackupProgress } from '../../services/backups/create-backup.js'
import { readBackup } from '../../services/backups/read-backup.js'
import { restoreBackup } from '../../services/backups/restore-backup.js'
import { loadMain } from './load-main.js'
import { configFrom, withDirOption } from './options.js'

interface KeyOptions {
  dir?: string
  keyFile?: string
}

/**
 * `engineroom backup [--out DIR] [--key-file F] [--no-verify]`, `engineroom backup verify
 * <archive>`, `engineroom backup key`, and `engineroom restore <archive> --dir <new> [--force]`.
 */
export function registerBackupCommands(program: Command): void {
  const backup = withDirOption(
    program
      .command('backup')
      .description(
        'Take a consistent backup (database, files, migrations) while the server runs, then verify it.',
      )
      .option(
        '--out <folder>',
        'where to write the archive (env ER_BACKUP_DIR, default <dir>/backups)',
      )
      .option(
        '--key-file <file>',
        'encrypt with this 32-byte key (default: env ER_BACKUP_KEY, if set)',
      )
      .option('--no-verify', 'skip reading the archive back to check it'),
  ).action(async (options: KeyOptions & { out?: string; verify: boolean }) => {
    const config = configFrom(options)
    const main = await loadMain()
    if (!config.databaseUrl && !existsSync(dataPaths(config).sqliteFile)) {
      throw new EngineError(
        'ER_VALIDATION_FAILED',
        `There is no database at ${dataPaths(config).sqliteFile}: nothing to back up. Check --dir (or ER_DIR / DATABASE_URL).`,
      )
    }
    const blobs = await main.openBlobs(config)
    // --out names a folder: it wins over ER_BACKUP_TARGET.
    const target = options.out
      ? createLocalBackupTarget(resolve(options.out))
      : await main.openBackupTarget(config)
    const started = Date.now()
    try {
      const result = await takeBackup(
        {
          sources: {
            snapshots: await main.openSnapshots(config),
            blobs,
            migrationsDir: dataPaths(config).migrationsDir,
          },
          dir: resolve(options.out ?? config.backup.dir),
          target,
          key: await keyFor(options, config),
          keep: config.backup.keep,
        },
        { verify: options.verify, onProgress: progressLine(started) },
      )
      endProgress()
      console.log(
        `Backup ${result.verified ? 'taken and verified' : 'taken (not verified)'} in ${seconds(started)}: ${where(target, result.name as string)}`,
      )
      console.log(summary(result.manifest, result.size))
      for (const name of result.pruned) console.log(`  removed by ER_BACKUP_KEEP: ${name}`)
    } catch (error) {
      endProgress()
      throw error
    } finally {
      await blobs.close()
      await target.close()
    }
  })

  withDirOption(
    backup
      .command('list')
      .description('List the archives in ER_BACKUP_DIR, or in the bucket of ER_BACKUP_TARGET=s3.'),
  ).action(async (_options: KeyOptions, command: Command) => {
    const config = configFrom(command.optsWithGlobals<KeyOptions>())
    const target = await (await loadMain()).openBackupTarget(config)
    try {
      const items = await target.list()
      if (items.length === 0) console.log(`No backups in ${target.location}.`)
      for (const item of items) {
        console.log(`${item.name}  ${megabytes(item.size)}  ${item.created}`)
      }
    } finally {
      await target.close()
    }
  })

  withDirOption(
    backup
      .command('verify <archive>')
      .description(
        'Restore an archive into a scratch place and check it against its manifest (integrity, row counts, checksums, every file).',
      )
      .option('--key-file <file>', 'the key it was encrypted with (default: env ER_BACKUP_KEY)'),
  ).action(async (archive: string, _options: KeyOptions, command: Command) => {
    // `--key-file` and `--dir` are also options of `backup` itself, which may claim them.
    const options = command.optsWithGlobals<KeyOptions>()
    const config = configFrom(options)
    const main = await loadMain()
    const started = Date.now()
    const staging = await mkdtemp(join(tmpdir(), 'engineroom-verify-'))
    try {
      const path = await localArchive(archive, config, staging)
      const { manifest } = await readBackup(await main.openSnapshots(config), path, {
        ...optionalKey(await keyFor(options, config)),
        staging,
        keepFiles: false,
      })
      console.log(`OK: ${archive} verified in ${seconds(started)}.`)
      console.log(summary(manifest))
    } finally {
      await rm(staging, { recursive: true, force: true })
    }
  })

  backup
    .command('key')
    .description('Print a new random backup key (store it apart from the backups).')
    .action(() => {
      console.log(newBackupKey())
    })

  withDirOption(
    program
      .command('restore <archive>')
      .description(
        'Verify an archive, then restore it into --dir (SQLite) or the empty database DATABASE_URL names.',
      )
      .option('--key-file <file>', 'the key it was encrypted with (default: env ER_BACKUP_KEY)')
      .option('--force', 'replace a target that already holds data (never one a server has open)'),
  ).action(async (archive: string, options: KeyOptions & { force?: boolean }) => {
    const config = configFrom(options)
    const main = await loadMain()
    const started = Date.now()
    const paths = dataPaths(config)
    const download = await mkdtemp(join(tmpdir(), 'engineroom-restore-'))
    let manifest: BackupManifest
    try {
      manifest = await restoreBackup(
        {
          snapshots: await main.openSnapshots(config),
          openBlobs: () => main.openBlobs(config),
          dataDir: config.dataDir,
          migrationsDir: paths.migrationsDir,
          openStore: async () => (await main.openStore(config)).store,
        },
        await localArchive(archive, config, download),
        { ...optionalKey(await keyFor(options, config)), force: options.force === true },
      )
    } finally {
      await rm(download, { recursive: true, force: true })
    }
    // With REDIS_URL: the servers started on it must not serve what they cached before.
    await main.forgetCachedAnswers(config)
    console.log(
      `Restored ${archive} into ${config.databaseUrl ? 'DATABASE_URL and ' : ''}${config.dataDir} in ${seconds(started)}.`,
    )
    console.log(summary(manifest))
    console.log(`Start it with: engineroom serve --dir ${config.dataDir}`)
  })
}

/**
 * A local file holding `archive`: the file itself when it exists, else the backup of that name
 * in the configured target (downloaded into `scratch` from S3), so `verify` and `restore` take
 * either a path or a name that `engineroom backup list` shows.
 */
async function localArchive(archive: string, config: Config, scratch: string): Promise<string> {
  if (existsSync(archive) || !backupTime(basename(archive))) return resolve(archive)
  const target = await (await loadMain()).openBackupTarget(config)
  try {
    return await target.fetch(basename(archive), scratch)
  } finally {
    await target.close()
  }
}

function where(target: { kind: string; location: string }, name: string): string {
  return target.kind === 'local' ? join(target.location, name) : `${target.location}${name}`
}

async function keyFor(options: KeyOptions, config: Config): Promise<Buffer | undefined> {
  return options.keyFile ? readBackupKeyFile(options.keyFile) : config.backup.key
}

function optionalKey(key: Buffer | undefined): { key?: Buffer } {
  return key ? { key } : {}
}

function summary(manifest: BackupManifest, size?: number): string {
  const rows = Object.values(manifest.tables).reduce((sum, t) => sum + t.rows, 0)
  const lines = [
    `  ${manifest.database.dialect}, taken ${manifest.created}${size === undefined ? '' : `, ${megabytes(size)}`}`,
    `  ${Object.keys(manifest.tables).length} tables, ${rows.toLocaleString('en')} rows, last event ${manifest.lastEventId}`,
    `  ${manifest.files.count.toLocaleString('en')} files (${megabytes(manifest.files.bytes)})`,
  ]
  if (manifest.files.missing.length > 0) {
    lines.push(`  ${manifest.files.missing.length} files deleted while it was taken (not included)`)
  }
  if (manifest.files.mismatched.length > 0) {
    lines.push(
      `  WARNING: ${manifest.files.mismatched.length} stored files no longer match their upload's SHA-256: ${manifest.files.mismatched.slice(0, 3).join(', ')}`,
    )
  }
  return lines.join('\n')
}

const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`

let progressShown = false

/** One status line rewritten in place on a terminal; nothing when stderr is not a terminal. */
function progressLine(started: number) {
  return (p: BackupProgress) => {
    if (!process.stderr.isTTY || p.phase === 'done') return
    progressShown = true
    process.stderr.write(
      `\r${p.phase}: ${megabytes(p.bytes)} written, ${p.files.toLocaleString('en')} files · ${seconds(started)}   `,
    )
  }
}

function endProgress(): void {
  if (progressShown) process.stderr.write('\n')
  progressShown = false
}
