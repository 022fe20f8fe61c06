import type { Command } from 'commander'
import { verifyAudit } from '../../services/audit/audit-log.js'
import { loadMain } from './load-main.js'
import { configOfExistingDir, withDirOption } from './options.js'

/** `engineroom audit verify`: checks the audit log's hash chain end to end. */
export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('The log of privileged actions.')
  withDirOption(
    audit
      .command('verify')
      .description('Check that no audit row was changed or removed (exit 1 if one was).'),
  ).action(async (options: { dir?: string }) => {
    const { store } = await (await loadMain()).openStore(configOfExistingDir(options))
    try {
      const result = await verifyAudit(store, (checked) => {
        if (checked > 0 && checked % 10_000 === 0) console.error(`checked ${checked} rows…`)
      })
      if (result.broken) {
        console.error(
          `Audit row ${result.broken.seq} is broken: ${result.broken.reason}. ${result.checked} rows before it hold; restore the database from a backup taken before the change to find what was altered.`,
        )
        process.exitCode = 1
        return
      }
      console.log(`The audit log holds: ${result.checked} rows verified.`)
    } finally {
      await store.close()
    }
  })
}
