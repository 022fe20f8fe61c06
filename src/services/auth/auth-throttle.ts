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

/** One guess under way: say how it went, exactly once. */
export interface ThrottledAttempt {
  /** The guess was wrong: it stays counted, and a count at the limit locks the key. */
  failed(): Promise<void>
  /** The guess was right: the account's counter starts again, the address's attempt is undone. */
  succeeded(): Promise<void>
}

/**
 * Slows password guessing per account and per IP with growing lockouts (OWASP Authentication
 * Cheat Sheet: "exponential back-off"). Counters live in the store (`_auth_throttle`), so they
 * hold across every node sharing the database. The account key hashes the e-mail as typed, so an
 * unknown e-mail is throttled exactly like a known one and the 429 reveals nothing.
 *
 * Each guess is counted before it is judged (`begin`), by an increment in the database: twenty
 * guesses sent at once are numbered 1 to 20, and only those within the limit are judged; the
 * rest are refused without looking at the password. Counting after judging let a burst through.
 * Trade-off: anyone can delay a victim's sign-in by failing on purpose; the cap keeps that to
 * minutes, never a permanent lock, and a successful sign-in resets the account counter.
 *
 * @example
 *   const attempt = await throttle.begin({ collectionId, identity: email, ip })   // or 429
 *   if (!(await passwords.verify(hash, given))) { await attempt.failed(); throw wrong() }
 *   await attempt.succeeded()
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
  const limits = (s: ThrottleSubject) => {
    const { account, ip } = keysOf(s)
    return [
      [account, policy.accountFailures],
      [ip, policy.ipFailures],
    ] as const
  }

  function throttled(until: number, now: number): EngineError {
    const retryAfter = Math.max(1, Math.ceil((until - now) / 1000))
    return new EngineError(
      'ER_AUTH_THROTTLED',
      `Too many failed sign-in attempts; try again in ${retryAfter} s.`,
      { extra: { retryAfter } },
    )
  }

  function lockFor(failures: number, limit: number): number {
    return Math.min(
      policy.maxLockSeconds,
      policy.baseLockSeconds * 2 ** Math.min(30, failures - limit),
    )
  }

  /**
   * Counts a guess, or throws ER_AUTH_THROTTLED (429 with `retryAfter` seconds) while either key
   * is locked or this guess is beyond the limit.
   */
  async function begin(subject: ThrottleSubject): Promise<ThrottledAttempt> {
    const now = clock.now()
    const at = now.toISOString()
    const forgetBefore = now.getTime() - policy.forgetAfterSeconds * 1000
    let until = 0
    for (const row of await store.auth.getThrottle(limits(subject).map(([key]) => key))) {
      const locked = row.lockedUntil === '' ? 0 : Date.parse(row.lockedUntil)
      // Old failures are forgiven, so a busy NAT address does not stay one failure from a lockout.
      if (Date.parse(row.updated) < forgetBefore && locked <= now.getTime()) {
        await store.auth.clearThrottle(row.key)
      } else until = Math.max(until, locked)
    }
    if (until > now.getTime()) throw throttled(until, now.getTime())
    const counted: [string, number, number][] = []
    for (const [key, limit] of limits(subject)) {
      counted.push([key, limit, await store.auth.addThrottleFailure(key, at)])
    }
    // Beyond the limit, a guess is judged only as the one guess each expired lockout allows:
    // it claims the lock (for as long as its failure would set) so that guesses beside it are
    // refused. Without an earlier lockout (a burst from a clean counter) nothing beyond the
    // limit is judged at all.
    for (const [key, limit, failures] of counted) {
      if (failures <= limit) continue
      const lockedUntil = now.getTime() + lockFor(failures, limit) * 1000
      const until = new Date(lockedUntil).toISOString()
      if (!(await store.auth.claimExpiredLock(key, at, until))) {
        // Refused unjudged: it was never a guess, so it is not counted either.
        for (const [counter] of counted) await store.auth.removeThrottleFailure(counter)
        const [row] = await store.auth.getThrottle([key])
        const held = row && row.lockedUntil !== '' ? Date.parse(row.lockedUntil) : lockedUntil
        throw throttled(Math.max(held, now.getTime() + 1000), now.getTime())
      }
    }
    let settled = false
    return {
      async failed() {
        if (settled) return
        settled = true
        for (const [key, limit, failures] of counted) {
          if (failures >= limit) {
            const lockedUntil = clock.now().getTime() + lockFor(failures, limit) * 1000
            await store.auth.setThrottleLock(key, new Date(lockedUntil).toISOString())
          }
        }
      },
      async succeeded() {
        if (settled) return
        settled = true
        const [[account], [ip]] = limits(subject)
        await store.auth.clearThrottle(account)
        await store.auth.removeThrottleFailure(ip)
      },
    }
  }

  return { begin }
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>
