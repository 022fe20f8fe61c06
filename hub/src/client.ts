/**
 * The hub's one client of the API (the SDK), with the session kept in sessionStorage: per tab,
 * gone when the tab closes, so a token does not outlive the visit that made it.
 */
import { createClient, ProblemError, type Session } from '@engineroom/client'

export const er = createClient({ url: location.origin })

const SESSION_KEY = 'engineroom.hub.session'

export interface HubUser {
  id: string
  email: string
  name?: string
}

try {
  const saved = sessionStorage.getItem(SESSION_KEY)
  if (saved) er.auth.restore(JSON.parse(saved) as Session)
} catch {
  sessionStorage.removeItem(SESSION_KEY)
}
er.auth.onChange((session) => {
  if (session) sessionStorage.setItem(SESSION_KEY, JSON.stringify(session))
  else sessionStorage.removeItem(SESSION_KEY)
})

/** The signed-in user of the `users` collection, or null. */
export function currentUser(): HubUser | null {
  const session = er.auth.session
  return session?.collection === 'users' ? (session.record as unknown as HubUser) : null
}

/**
 * What to tell a person about a failed call: the problem's detail; an expired session signs
 * out (the page then offers to sign in again).
 */
export function explain(error: unknown): string {
  if (error instanceof ProblemError) {
    if (error.status === 401 && er.auth.session) er.auth.restore(null)
    return error.message
  }
  return 'The server could not be reached; try again.'
}

/** The first message the problem gives for `name` (a field of the form that was sent). */
export function fieldError(error: unknown, name: string): string | undefined {
  if (!(error instanceof ProblemError)) return undefined
  // `errors.<field>` is a list of `{ code, message }` in Engine Room's problems.
  const entry: unknown = error.errors[name]
  const first: unknown = Array.isArray(entry) ? entry[0] : entry
  if (typeof first === 'string') return first
  const message = (first as { message?: unknown } | undefined)?.message
  return typeof message === 'string' ? message : undefined
}

const moneyFormats = new Map<string, Intl.NumberFormat>()

/** `490000, 'usd'` → `$4,900.00`: amounts are in the currency's minor unit. */
export function money(minor: number, currency: string): string {
  const code = currency.toUpperCase()
  let format = moneyFormats.get(code)
  if (!format) {
    format = new Intl.NumberFormat('en-US', { style: 'currency', currency: code })
    moneyFormats.set(code, format)
  }
  return format.format(minor / 100)
}

/**
 * The Idempotency-Key of one form: the same while its answer is unknown (a second click, a retry
 * after a dropped connection, cannot write twice), a new one once the server has answered with a
 * problem (the corrected form is another request; the old key would be refused as reused).
 */
export interface WriteKey {
  readonly value: string
  /** Call with the error a write threw. */
  settle(error: unknown): void
  /** The write is done with (a finished checkout): the next attempt is a new request. */
  renew(): void
}

export function writeKey(): WriteKey {
  let value = crypto.randomUUID()
  return {
    get value() {
      return value
    },
    settle(error) {
      if (error instanceof ProblemError) value = crypto.randomUUID()
    },
    renew() {
      value = crypto.randomUUID()
    },
  }
}
