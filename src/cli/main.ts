#!/usr/bin/env node
import { Command } from 'commander'
import { ConfigError } from '../config/config.js'
import { EngineError } from '../core/errors/index.js'
import { CliError, describeFileSystemError } from './cli-errors.js'
import { registerDevCommand } from './commands/dev.js'
import { registerBackupCommands } from './commands/backup.js'
import { registerImportCommand } from './commands/import.js'
import { registerKeysCommands } from './commands/keys.js'
import { registerAuditCommands } from './commands/audit.js'
import { registerMigrateCommand } from './commands/migrate.js'
import { registerSchemaCommands } from './commands/schema.js'
import { registerServeCommand } from './commands/serve.js'
import { registerSuperuserCommands } from './commands/superuser.js'
import { registerTypesCommand } from './commands/types.js'
import { registerWorkerCommand } from './commands/worker.js'
import { registerInitCommand } from './commands/init.js'

/** `engineroom`: one binary for serving and for administering a data directory or database. */
const program = new Command('engineroom')
  .description('Engine Room: a whole back end in one process, on SQLite or PostgreSQL.')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')

registerServeCommand(program)
registerDevCommand(program)
registerWorkerCommand(program)
registerMigrateCommand(program)
registerSchemaCommands(program)
registerSuperuserCommands(program)
registerImportCommand(program)
registerKeysCommands(program)
registerAuditCommands(program)
registerTypesCommand(program)
registerBackupCommands(program)
registerInitCommand(program)

program.parseAsync(process.argv).catch((error: unknown) => {
  process.exitCode = reportError(error)
})

/** One clear message, and what to do next; a stack trace only for the unexpected. */
function reportError(error: unknown): number {
  if (error instanceof ConfigError) {
    console.error(`engineroom: invalid setting: ${error.message}`)
    return 2
  }
  if (error instanceof CliError) {
    console.error(`engineroom: ${error.message}`)
    return 1
  }
  if (error instanceof EngineError) {
    console.error(`engineroom: ${error.message}`)
    for (const [field, issues] of Object.entries(error.errors ?? {})) {
      for (const issue of issues) console.error(`  ${field}: ${issue.message}`)
    }
    return 1
  }
  if (error instanceof Error && error.name === 'RedisUnreachableError') {
    console.error(`engineroom: ${error.message}`)
    return 1
  }
  if (error instanceof Error && error.name === 'ExtensionLoadError') {
    console.error(`engineroom: ${error.message}`)
    // The extension's own code threw: its stack (source-mapped) points at the line to fix.
    if (error.cause instanceof Error && error.cause.name !== 'TypeError')
      console.error(error.cause.stack)
    return 1
  }
  const code = (error as { code?: string })?.code
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND') {
    console.error(
      `engineroom: cannot reach the database (${code}). Check DATABASE_URL and that the server is running.`,
    )
    return 1
  }
  if (code === 'EADDRINUSE') {
    console.error(
      'engineroom: the address is already in use. Stop the other server or pick another with --http host:port.',
    )
    return 1
  }
  const fileSystem = describeFileSystemError(error)
  if (fileSystem) {
    console.error(`engineroom: ${fileSystem}`)
    return 1
  }
  console.error('engineroom: unexpected error:', error)
  return 1
}
