import type { Command } from 'commander'
import type { StoreSession } from '../../adapters/store/store.js'
import { loadMain } from './load-main.js'
import {
  announceSigningKeysChange,
  listSigningKeys,
  removeSigningKey,
  rotateSigningKey,
} from '../../services/auth/signing-keys.js'
import { configOfExistingDir, withDirOption } from './options.js'

/** When a server this command could not reach learns of the change (see `loadTokenSigner`). */
const UNTOLD =
  'at its next re-read of the keys (without REDIS_URL this command cannot reach a running server)'
/** How the servers learn of it with `REDIS_URL`; one that missed the message re-reads within a minute. */
const TOLD = 'The servers of this deployment were told on the bus'

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
    const { result: kid, told } = await changeKeys(options, rotateSigningKey)
    console.log(
      told
        ? `New signing key ${kid}. ${TOLD}: they sign with it now (one that missed the message, within a minute).`
        : `New signing key ${kid}. A running server signs with it within a minute, ${UNTOLD}.`,
    )
    console.log('Remove the old key once the tokens it signed have expired.')
  })

  withDirOption(
    keys.command('remove <kid>').description('Remove a retired key; its tokens stop verifying.'),
  ).action(async (kid: string, options: { dir?: string }) => {
    const { told } = await changeKeys(options, (store) => removeSigningKey(store, kid))
    console.log(
      told
        ? `Removed signing key ${kid}. ${TOLD}: they refuse its tokens now (one that missed the message, within a minute).`
        : `Removed signing key ${kid}. A running server still accepts its tokens for up to a minute, ${UNTOLD}; restart it to refuse them at once.`,
    )
  })
}

/**
 * Changes the keys, then tells the deployment's servers on its bus when `REDIS_URL` is set
 * (opened first: an unreachable Redis ends the command with the keys unchanged). `told` says
 * whether they were told.
 */
async function changeKeys<T>(
  options: { dir?: string },
  change: (store: StoreSession) => Promise<T>,
): Promise<{ result: T; told: boolean }> {
  const main = await loadMain()
  const config = configOfExistingDir(options)
  const { store } = await main.openStore(config)
  try {
    const bus = await main.openServersBus(config, store)
    try {
      const result = await change(store)
      if (bus) await announceSigningKeysChange(bus)
      return { result, told: bus !== undefined }
    } finally {
      await bus?.close()
    }
  } finally {
    await store.close()
  }
}
