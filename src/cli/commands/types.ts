import { writeFileSync } from 'node:fs'
import type { Command } from 'commander'
import { ConfigError } from '../../config/config.js'
import type { CollectionDef } from '../../core/schema/types.js'
import { cliContext } from '../../services/context.js'
import { renderCollectionTypes } from '../../services/schema/render-types.js'
import { loadMain } from './load-main.js'
import { configFrom, withDirOption } from './options.js'

/**
 * `engineroom types [--out F]`: TypeScript types for every collection, from the data directory
 * (or DATABASE_URL) like every command, or from a running server with `--url` and a superuser's
 * `--token` (env ER_TOKEN keeps it out of the shell history).
 */
export function registerTypesCommand(program: Command): void {
  withDirOption(
    program
      .command('types')
      .description('Write TypeScript types (record, create, update, expand) for every collection.')
      .option('--out <file>', 'where to write them (default: stdout)')
      .option('--url <url>', 'read the collections from this running server instead')
      .option('--token <token>', "a superuser's token for --url (env ER_TOKEN)"),
  ).action(async (options: { dir?: string; out?: string; url?: string; token?: string }) => {
    const collections = options.url
      ? await fromServer(options.url, options.token ?? process.env.ER_TOKEN)
      : await fromStore(options)
    const text = renderCollectionTypes(collections)
    if (!options.out) {
      process.stdout.write(text)
      return
    }
    writeFileSync(options.out, text)
    console.log(`Wrote types for ${collections.length} collection(s) to ${options.out}`)
  })
}

async function fromStore(options: { dir?: string }): Promise<CollectionDef[]> {
  const { engine } = await (await loadMain()).openEngine(configFrom(options))
  try {
    return engine.schema.exportSchema(cliContext(engine.registry.get('_superusers')))
  } finally {
    await engine.close()
  }
}

async function fromServer(url: string, token: string | undefined): Promise<CollectionDef[]> {
  if (!token) throw new ConfigError('--url needs a superuser token: --token <token> or ER_TOKEN.')
  const base = url.replace(/\/+$/, '')
  let res: Response
  try {
    res = await fetch(`${base}/api/collections`, { headers: { authorization: `Bearer ${token}` } })
  } catch (error) {
    throw new ConfigError(`cannot reach ${base}: ${(error as Error).message}. Check --url.`, {
      cause: error,
    })
  }
  if (res.status === 401 || res.status === 403) {
    throw new ConfigError(
      `${base} refused the token (${res.status}): sign in as a superuser again.`,
    )
  }
  if (!res.ok) throw new ConfigError(`${base}/api/collections answered ${res.status}.`)
  return ((await res.json()) as { items: CollectionDef[] }).items
}
