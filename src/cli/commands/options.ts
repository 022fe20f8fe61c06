import type { Command } from 'commander'
import { loadConfig, type Config } from '../../config/config.js'
import { requireDataDir } from '../cli-errors.js'

/** `--dir`, shared by every command that opens the data directory. */
export function withDirOption(command: Command): Command {
  return command.option('--dir <path>', 'data directory (env ER_DIR, default ./er_data)')
}

export function configFrom(options: {
  dir?: string
  http?: string
  workers?: string
  extensions?: string
}): Config {
  return loadConfig(
    {
      dir: options.dir,
      http: options.http,
      workers: options.workers,
      extensions: options.extensions,
    },
    process.env,
  )
}

/** The config of a command that works on an existing data directory (all but serve, migrate). */
export function configOfExistingDir(options: { dir?: string }): Config {
  const config = configFrom(options)
  requireDataDir(config)
  return config
}
