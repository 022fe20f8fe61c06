import { EngineError, invalidField } from '../../core/errors/index.js'
import type { Clock } from '../../core/clock.js'
import type { Store } from '../../adapters/store/store.js'
import type { SchemaRegistry } from '../schema/schema-registry.js'
import type { RecordsService } from '../records/records-service.js'
import { cliContext } from '../context.js'
import { hashToken, isOpaqueToken, newOpaqueToken, safeEqual } from './secret-tokens.js'
import { SUPERUSERS_COLLECTION } from './auth-service.js'

const PREFIX = 'ers_'
/** How long a printed setup link works. */
export const SETUP_TTL_SECONDS = 3600

export interface FirstRunSetupDeps {
  store: Store
  registry: SchemaRegistry
  records: RecordsService
  clock: Clock
}

const refused = () =>
  new EngineError(
    'ER_SETUP_LINK_INVALID',
    'This setup link is wrong, expired or used, or a superuser exists already. Restart the server for a new link, or run: engineroom superuser create <email> <password>',
  )

/**
 * First-run setup: while no superuser exists, `serve` prints a link carrying a one-time token,
 * and whoever opens it creates the first superuser (`POST /api/setup`). The token is the only
 * thing that separates the operator who started the server from anyone else who can reach it
 * first, so it is 256 random bits, kept only as a hash in this process's memory, compared in
 * constant time, good once and for {@link SETUP_TTL_SECONDS}, and refused as soon as any
 * superuser exists (made by the CLI or another node meanwhile).
 *
 * @example
 *   const setup = createFirstRunSetup({ store, registry, records, clock })
 *   const token = await setup.issue() // undefined when a superuser exists
 *   if (token) console.log(`${url}/_/setup#token=${token}`)
 */
export function createFirstRunSetup(deps: FirstRunSetupDeps) {
  let pending: { hash: string; expires: number } | undefined
  /** Set while a creation runs, so two requests with the one token cannot both create. */
  let busy = false

  async function hasSuperuser(): Promise<boolean> {
    const page = await deps.store.selectRecords({
      collection: deps.registry.get(SUPERUSERS_COLLECTION),
      where: [],
      sort: [{ path: { field: 'id' }, desc: false }],
      limit: 1,
    })
    return page.rows.length > 0
  }

  return {
    /** A new token when no superuser exists (replacing an older one), else undefined. */
    async issue(): Promise<string | undefined> {
      if (await hasSuperuser()) return undefined
      const token = newOpaqueToken(PREFIX)
      pending = {
        hash: hashToken(token),
        expires: deps.clock.now().getTime() + SETUP_TTL_SECONDS * 1000,
      }
      return token
    },

    /** `POST /api/setup` `{ token, email, password }`: creates the first superuser. */
    async complete(body: unknown): Promise<Record<string, unknown>> {
      const input = (body ?? {}) as { token?: unknown; email?: unknown; password?: unknown }
      const current = pending
      if (
        !current ||
        busy ||
        !isOpaqueToken(input.token, PREFIX) ||
        !safeEqual(hashToken(input.token), current.hash) ||
        deps.clock.now().getTime() > current.expires
      ) {
        throw refused()
      }
      if (typeof input.email !== 'string') throw invalidField('email', 'required', 'is required')
      busy = true
      try {
        if (await hasSuperuser()) {
          pending = undefined
          throw refused()
        }
        // Validation (e-mail shape, password length) happens here; a mistake keeps the link.
        const record = await deps.records.create(
          cliContext(deps.registry.get(SUPERUSERS_COLLECTION)),
          SUPERUSERS_COLLECTION,
          { email: input.email, password: input.password },
        )
        pending = undefined
        return record
      } finally {
        busy = false
      }
    },
  }
}

export type FirstRunSetup = ReturnType<typeof createFirstRunSetup>
