import { createHash } from 'node:crypto'
import type { Clock } from '../../core/clock.js'
import { EngineError } from '../../core/errors/index.js'
import type { Store } from '../../adapters/store/store.js'

/** Limits of the login throttle. Each lockout doubles, from `baseLockSeconds` to `maxLockSeconds`. */
export interface ThrottlePolicy {
  /** Failures for one account (e-mail) before the first lockout (default 5). */
  accountFailures: number
  /** Failures from one IP address, over all accounts, before its first lockout (default 30). */
  ipFailures: number
  baseLockSeconds: number
  maxLockSeconds: number
  /** A counter with no failure for this long starts again from zero (default one hour). */
  forgetAfterSeconds: number
}

export const defaultThrottlePolicy: ThrottlePolicy = {
  accountFailures: 5,
  ipFailures: 30,
  baseLockSeconds: 1,
  maxLockSeconds: 15 * 60,
  forgetAfterSeconds: 3600,
}

/** Who is trying: the account key is derived from the e-mail typed, whether or not it exists. */
export interface ThrottleSubject {
  collectionId: string
  identity: string
  ip: string
}

/**
 * Slows password guessing per account and per IP with growing lockouts (OWASP Authentication
 * Cheat Sheet: "exponential back-off"). Counters live in the store (`_auth_throttle`), so they
 * hold across every node sharing the database. The account key hashes the e-mail as typed, so an
 * unknown e-mail is throttled exactly like a known one and the 429 reveals nothing.
 * Trade-off: anyone can delay a victim's sign-in by failing on purpose; the cap keeps that to
 * minutes, never a permanent lock, and a successful sign-in resets the account counter.
 */
export function createLoginThrottle(
  store: Store,
  clock: Clock,
  policy: ThrottlePolicy = defaultThrottlePolicy,
) {
  const keysOf = (s: ThrottleSubject) => ({
    account: `acct:${s.collectionId}:${createHash('sha256').update(s.identity).digest('base64url')}`,
    ip: `ip:${s.ip}`,
  })

  /** Throws ER_AUTH_THROTTLED (429 with `retryAfter` seconds) while either key is locked. */
  async function check(subject: ThrottleSubject): Promise<void> {
    const { account, ip } = keysOf(subject)
    const now = clock.now().getTime()
    let until = 0
    for (const row of await store.auth.getThrottle([account, ip])) {
      if (row.lockedUntil !== '') until = Math.max(until, Date.parse(row.lockedUntil))
    }
    if (until > now) {
      const retryAfter = Math.max(1, Math.ceil((until - now) / 1000))
      throw new EngineError(
        'ER_AUTH_THROTTLED',
        `Too many failed sign-in attempts; try again in ${retryAfter} s.`,
        { extra: { retryAfter } },
      )
    }
  }

  async function recordFailure(subject: ThrottleSubject): Promise<void> {
    const { account, ip } = keysOf(subject)
    const now = clock.now()
    const at = now.toISOString()
    // Old failures are forgiven, so a busy NAT address does not stay one failure from a lockout.
    const forgetBefore = now.getTime() - policy.forgetAfterSeconds * 1000
    for (const row of await store.auth.getThrottle([account, ip])) {
      const quiet = Date.parse(row.updated) < forgetBefore
      const unlocked = row.lockedUntil === '' || Date.parse(row.lockedUntil) <= now.getTime()
      if (quiet && unlocked) await store.auth.clearThrottle(row.key)
    }
    for (const [key, limit] of [
      [account, policy.accountFailures],
      [ip, policy.ipFailures],
    ] as const) {
      const failures = await store.auth.addThrottleFailure(key, at)
      if (failures >= limit) {
        const seconds = Math.min(
          policy.maxLockSeconds,
          policy.baseLockSeconds * 2 ** Math.min(30, failures - limit),
        )
        await store.auth.setThrottleLock(
          key,
          new Date(now.getTime() + seconds * 1000).toISOString(),
        )
      }
    }
  }

  /** A correct password clears the account's counter (the IP's decays only by success there too). */
  async function recordSuccess(subject: ThrottleSubject): Promise<void> {
    await store.auth.clearThrottle(keysOf(subject).account)
  }

  return { check, recordFailure, recordSuccess }
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>
