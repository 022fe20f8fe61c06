import type { AuthService } from '../auth/auth-service.js'
import type { AuthWebhookEvent, WebhookDelivery } from './webhook-delivery.js'

export interface AuthWebhookDeps {
  delivery: Pick<WebhookDelivery, 'authEvent'>
  /** Where a failed enqueue is reported; the auth answer does not fail for it. */
  onError(error: unknown, message: string): void
}

/**
 * The auth service with webhook messages for `signIn` (password, OAuth2 and MFA completions),
 * `passwordReset` and `emailVerified`, queued once each succeeds and before it answers.
 * `signUp` needs nothing here: it is the create of the account, fed from the outbox.
 */
export function withAuthWebhooks(auth: AuthService, deps: AuthWebhookDeps): AuthService {
  async function tell(collection: string, event: AuthWebhookEvent, recordId: string) {
    try {
      await deps.delivery.authEvent(await auth.authCollection(collection), event, recordId)
    } catch (error) {
      deps.onError(error, `webhooks: queueing the ${event} of ${collection}/${recordId} failed`)
    }
  }

  /** A sign-in completed (not an MFA challenge): its record's id. */
  const signedInId = (result: object): string | undefined => {
    if (!('token' in result) || !('record' in result)) return undefined
    const id = (result.record as { id?: unknown }).id
    return typeof id === 'string' ? id : undefined
  }

  async function signedIn<T extends object>(collection: string, result: T): Promise<T> {
    const id = signedInId(result)
    if (id) await tell(collection, 'signIn', id)
    return result
  }

  return {
    ...auth,
    loginWithPassword: async (name, body, client) =>
      signedIn(name, await auth.loginWithPassword(name, body, client)),
    verifyMfa: async (name, body, client) =>
      signedIn(name, await auth.verifyMfa(name, body, client)),
    signInRecord: async (collection, row, client) =>
      signedIn(collection.name, await auth.signInRecord(collection, row, client)),
    email: {
      ...auth.email,
      async verifyEmail(name, body) {
        const result = await auth.email.verifyEmail(name, body)
        await tell(name, 'emailVerified', result.recordId)
        return result
      },
      async resetPassword(name, body) {
        const result = await auth.email.resetPassword(name, body)
        await tell(name, 'passwordReset', result.recordId)
        return result
      },
    },
  }
}
