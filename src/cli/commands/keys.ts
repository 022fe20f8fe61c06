import type { Command } from 'commander'
import { loadMain } from './load-main.js'
import {
  listSigningKeys,
  removeSigningKey,
  rotateSigningKey,
} from '../../services/auth/signing-keys.js'
import { configOfExistingDir, withDirOption } from './options.js'

/** `engineroom keys list|rotate|remove <kid>`: the Ed25519 keys that sign access tokens. */
export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description('Manage the keys that sign access tokens.')

  withDirOption(keys.command('list').description('List signing keys (newest signs).')).action(
    async (options: { dir?: string }) => {
      const { store } = await (await loadMain()).openStore(configOfExistingDir(options))
      try {
        for (const key of await listSigningKeys(store)) {
          console.log(`${key.kid}\tcreated ${key.created}${key.signing ? '\tsigning' : ''}`)
        }
      } finally {
        await store.close()
      }
    },
  )

  withDirOption(
    keys
      .command('rotate')
      .description('Add a new signing key; older keys keep verifying until removed.'),
  ).action(async (options: { dir?: string }) => {
    const { store } = await (await loadMain()).openStore(configOfExistingDir(options))
    try {
      const kid = await rotateSigningKey(store)
      console.log(
        `New signing key ${kid}. Servers switch within a minute; remove the old key once its tokens expired.`,
      )
    } finally {
      await store.close()
    }
  })

  withDirOption(
    keys.command('remove <kid>').description('Remove a retired key; its tokens stop verifying.'),
  ).action(async (kid: string, options: { dir?: string }) => {
    const { store } = await (await loadMain()).openStore(configOfExistingDir(options))
    try {
      await removeSigningKey(store, kid)
      console.log(`Removed signing key ${kid}.`)
    } finally {
      await store.close()
    }
  })
}
