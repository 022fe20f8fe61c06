import { EngineError } from '../../core/errors/index.js'
import type { CollectionDef } from '../../core/schema/types.js'
import type { RecordInput } from '../../core/schema/validate-record.js'
import type { Row } from '../../adapters/store/store.js'
import type { RequestContext } from '../context.js'

/**
 * An auth record's credentials (`email`, `password`) change under stricter terms than its other
 * fields, because they are what every session, API key and OAuth link trusts:
 * - a non-superuser sets a new password only beside the current one (`oldPassword`), so a
 *   stolen access token cannot turn into a stolen account; see `needsCurrentPassword`;
 * - an API key changes neither: it stands for its owner's data, not for the owner;
 * - a non-superuser never sets `email` by update: a new address is proved through
 *   `request-email-change` / `confirm-email-change`, or `verified` would vouch for an address
 *   nobody proved (and OAuth sign-in links accounts by verified address);
 * - a superuser's change of `email` clears `verified`, unless the same request sets it.
 */
export function checkCredentialWrites(
  ctx: RequestContext,
  collection: CollectionDef,
  input: RecordInput,
  stored: Row,
): void {
  if (collection.type !== 'auth') return
  const emailChanges = 'email' in input.values && input.values.email !== stored.email
  if (ctx.auth?.apiKey && (emailChanges || input.password !== undefined)) {
    throw apiKeyCannotChange(emailChanges ? 'email' : 'password')
  }
  if (!emailChanges) return
  if (ctx.auth?.isSuperuser === true) {
    if (!('verified' in input.values)) input.values.verified = false
    return
  }
  throw new EngineError(
    'ER_FORBIDDEN',
    `email: change it with POST /api/collections/${collection.name}/auth/request-email-change, which mails a link to the new address.`,
    {
      errors: {
        email: [{ code: 'email_change_flow', message: 'is changed through request-email-change' }],
      },
    },
  )
}

/** Whether this update must prove the current password before its new one is accepted. */
export function needsCurrentPassword(
  ctx: RequestContext,
  collection: CollectionDef,
  input: RecordInput,
): boolean {
  return (
    collection.type === 'auth' && input.password !== undefined && ctx.auth?.isSuperuser !== true
  )
}

export function currentPasswordRequired(): EngineError {
  return new EngineError(
    'ER_VALIDATION_FAILED',
    'oldPassword: send the current password beside the new one.',
    { errors: { oldPassword: [{ code: 'required', message: 'is required to set a password' }] } },
  )
}

export function currentPasswordWrong(): EngineError {
  return new EngineError('ER_AUTH_INVALID_CREDENTIALS', 'oldPassword: the password is wrong.', {
    errors: { oldPassword: [{ code: 'invalid', message: 'is not the current password' }] },
  })
}

/**
 * Passwords one request of a non-superuser may set. Hashing is deliberately slow (argon2), and a
 * batch or a GraphQL document is one request to the rate limiter: without a bound, one request
 * of 99 sign-ups costs 99 hashes.
 */
export const MAX_PASSWORDS_PER_REQUEST = 5

/** Spends one of the request's passwords, or refuses (400) when they are spent. */
export function spendPasswordBudget(
  ctx: RequestContext,
  collection: CollectionDef,
  input: RecordInput,
): void {
  if (collection.type !== 'auth' || input.password === undefined) return
  if (ctx.auth?.isSuperuser === true) return
  const budget = (ctx.passwordBudget ??= { left: MAX_PASSWORDS_PER_REQUEST })
  if (budget.left <= 0) {
    throw new EngineError(
      'ER_VALIDATION_FAILED',
      `password: one request may set at most ${MAX_PASSWORDS_PER_REQUEST} passwords; send the others in another request.`,
      {
        errors: {
          password: [
            {
              code: 'request_limit',
              message: `at most ${MAX_PASSWORDS_PER_REQUEST} passwords per request`,
            },
          ],
        },
      },
    )
  }
  budget.left--
}

export function apiKeyCannotChange(field: 'email' | 'password'): EngineError {
  return new EngineError('ER_FORBIDDEN', `${field}: an API key cannot change credentials.`, {
    errors: { [field]: [{ code: 'api_key', message: 'an API key cannot change this field' }] },
  })
}

/**
 * What is left of the request's password budget now, to give back with `restorePasswordBudget`
 * when an attempt that may have spent some is undone (a write retried on a fresh schema).
 */
export function passwordBudgetLeft(ctx: RequestContext): number {
  return ctx.passwordBudget?.left ?? MAX_PASSWORDS_PER_REQUEST
}

/**
 * Gives back what an undone attempt spent: the budget is as it was when `left` was read, so the
 * attempt run again spends it once, and no more than once. Writes of one request run one after
 * the other (a batch in order, GraphQL mutations serially), so nothing else spent meanwhile.
 */
export function restorePasswordBudget(ctx: RequestContext, left: number): void {
  if (ctx.passwordBudget) ctx.passwordBudget.left = left
}
