import type { Command } from 'commander'
import { EngineError } from '../../core/errors/index.js'
import { loadMain } from './load-main.js'
import { cliContext } from '../../services/context.js'
import { configOfExistingDir, withDirOption } from './options.js'

const SUPERUSERS = '_superusers'

export function registerSuperuserCommands(program: Command): void {
  const superuser = program
    .command('superuser')
    .description('Manage the administrators (the _superusers collection).')

  withDirOption(
    superuser.command('create <email> <password>').description('Create a superuser.'),
  ).action(async (email: string, password: string, options: { dir?: string }) => {
    // Writes on the deployment's bus with REDIS_URL, so the servers' cached reads move on.
    const { engine, close } = await (
      await loadMain()
    ).openEngineBesideServers(configOfExistingDir(options))
    try {
      const ctx = cliContext(engine.registry.get(SUPERUSERS))
      const record = await engine.records.create(ctx, SUPERUSERS, { email, password })
      console.log(`Created superuser ${String(record.email)} (id ${String(record.id)}).`)
    } finally {
      await close()
    }
  })

  withDirOption(superuser.command('list').description('List superusers.')).action(
    async (options: { dir?: string }) => {
      const { engine } = await (await loadMain()).openEngine(configOfExistingDir(options))
      try {
        const ctx = cliContext(engine.registry.get(SUPERUSERS))
        const page = await engine.records.list(ctx, SUPERUSERS, { perPage: '500', sort: 'email' })
        if (page.items.length === 0)
          console.log(
            'No superusers. Create one with: engineroom superuser create <email> <password>',
          )
        for (const item of page.items)
          console.log(`${String(item.email)}\t${String(item.id)}\tcreated ${String(item.created)}`)
      } finally {
        await engine.close()
      }
    },
  )

  withDirOption(
    superuser.command('delete <email>').description('Delete a superuser by e-mail.'),
  ).action(async (email: string, options: { dir?: string }) => {
    const { engine, close } = await (
      await loadMain()
    ).openEngineBesideServers(configOfExistingDir(options))
    try {
      const collection = engine.registry.get(SUPERUSERS)
      const [row] = await engine.store.selectByColumn(collection, 'email', email.toLowerCase(), 1)
      if (!row)
        throw new EngineError(
          'ER_RECORD_NOT_FOUND',
          `No superuser has the e-mail ${email}. See them with: engineroom superuser list`,
        )
      await engine.records.remove(cliContext(collection), SUPERUSERS, row.id as string)
      console.log(`Deleted superuser ${email}.`)
    } finally {
      await close()
    }
  })
}
