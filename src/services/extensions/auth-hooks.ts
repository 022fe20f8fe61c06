import type { Store } from '../../adapters/store/store.js'
import type { AuthService } from '../auth/auth-service.js'
import { systemContext } from '../context.js'
import type { RecordsService } from '../records/records-service.js'
import { toApiRecord } from '../records/record-view.js'
import type { SchemaRegistry } from '../schema/schema-registry.js'
import type { AuthEvent, AuthEventName } from './extension-api.js'
import type { ExtensionRegistrations } from './extension-registrations.js'
import { createRecordsClient, sudoContext } from './records-client.js'

/** Attempts of an in-process auth hook before it is given up (each logged). */
const AUTH_HOOK_ATTEMPTS = 5

export interface AuthHookDeps {
  store: Store
  registry: SchemaRegistry
  records: RecordsService
  registrations: ExtensionRegistrations
  onFailure(error: unknown, hook: string, attempt: number, willRetry: boolean): void
  /** First retry delay, doubled per attempt (default 500 ms). */
  backoffMs?: number
}

/**
 * The auth service with `signIn`, `passwordReset` and `emailVerified` hooks run after each
 * succeeds. They run in the background on this node (the answer does not wait for them), up to
 * AUTH_HOOK_ATTEMPTS times with backoff; they have no outbox row, so a node stopping meanwhile
 * loses them. `signUp` is a record created in the collection and runs from the outbox instead
 * (after-hooks-runner.ts).
 */
export function withAuthHooks(auth: AuthService, deps: AuthHookDeps): AuthService {
  const { registrations } = deps
  const pending = new Set<Promise<void>>()

  function fire(collection: string, event: AuthEventName, recordId: string): void {
    const hooks = registrations.auth(collection, event)
    if (hooks.length === 0) return
    const work = (async () => {
      const definition = deps.registry.find(collection)
      if (!definition) return
      const [row] = await deps.store.selectByIds(definition, [recordId])
      if (!row) return
      const ctx = systemContext(`auth-${event}`)
      const payload: AuthEvent = {
        collection,
        event,
        record: Object.freeze(toApiRecord(definition, row, true)),
        sudo: createRecordsClient(deps.records, sudoContext(deps.registry, ctx)),
      }
      for (const hook of hooks)
        await withRetries(`auth('${collection}').after('${event}')`, () => hook(payload))
    })().catch((error: unknown) =>
      deps.onFailure(error, `auth('${collection}') ${event}`, 1, false),
    )
    pending.add(work)
    void work.finally(() => pending.delete(work))
  }

  async function withRetries(hook: string, call: () => unknown): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await call()
        return
      } catch (error) {
        const willRetry = attempt < AUTH_HOOK_ATTEMPTS
        deps.onFailure(error, hook, attempt, willRetry)
        if (!willRetry) return
        const delay = (deps.backoffMs ?? 500) * 2 ** (attempt - 1)
        await new Promise((done) => setTimeout(done, delay).unref())
      }
    }
  }

  const signedIn = (collection: string, result: object) => {
    if ('token' in result && 'record' in result) {
      const id = (result.record as { id?: unknown }).id
      if (typeof id === 'string') fire(collection, 'signIn', id)
    }
    return result
  }

  return {
    ...auth,
    loginWithPassword: async (name, body, client) =>
      signedIn(name, await auth.loginWithPassword(name, body, client)) as Awaited<
        ReturnType<AuthService['loginWithPassword']>
      >,
    verifyMfa: async (name, body, client) =>
      signedIn(name, await auth.verifyMfa(name, body, client)) as Awaited<
        ReturnType<AuthService['verifyMfa']>
      >,
    signInRecord: async (collection, row, client) =>
      signedIn(collection.name, await auth.signInRecord(collection, row, client)) as Awaited<
        ReturnType<AuthService['signInRecord']>
      >,
    email: {
      ...auth.email,
      async verifyEmail(name, body) {
        const result = await auth.email.verifyEmail(name, body)
        fire(name, 'emailVerified', result.recordId)
        return result
      },
      async resetPassword(name, body) {
        const result = await auth.email.resetPassword(name, body)
        fire(name, 'passwordReset', result.recordId)
        return result
      },
    },
  }
}
