import type { ConsentRow, Store } from '../../adapters/store/store.js'
import type { Clock } from '../../core/clock.js'
import { EngineError } from '../../core/errors/index.js'
import { auditActor } from '../audit/audit-log.js'
import type { RequestContext } from '../context.js'
import type { PrivacySubject } from './privacy-export.js'

/**
 * Changes one person may record in all (a toggle a second for a year would not reach it; a
 * script looping on the endpoint is stopped before the table grows without bound).
 */
export const MAX_CONSENT_CHANGES = 1000
/** What a purpose key looks like: `ER_CONSENT_PURPOSES` entries are checked against it. */
export const CONSENT_PURPOSE_PATTERN = /^[a-z][a-z0-9_.-]{0,63}$/
/** Purposes an operator may declare. */
export const MAX_CONSENT_PURPOSES = 50

export interface ConsentDeps {
  store: Pick<Store, 'transaction' | 'consents'>
  clock: Clock
  /**
   * The purposes the operator declared (`ER_CONSENT_PURPOSES`): only these can be consented
   * to, so a consent always names something the operator has described to people, and a typo
   * in a client is refused instead of recorded.
   */
  purposes: readonly string[]
}

/** Where and how the change was asked for, kept with it as evidence. */
export interface ConsentClient {
  ip: string
  userAgent: string
}

/** A purpose's state as the API shows it. */
export interface ConsentState {
  purpose: string
  granted: boolean
  at: string
}

/** A change as the API shows it: the state, who recorded it and from where. */
export interface ConsentChange extends ConsentState {
  actor: string
  ip: string
  userAgent: string
}

/** The person's consents: each purpose's latest state, and every change oldest first. */
export interface ConsentReport {
  subject: { collection: string; id: string }
  current: ConsentState[]
  history: ConsentChange[]
}

/** The longest user agent kept (as for sign-in sessions). */
const MAX_USER_AGENT = 512

/**
 * Records that `subject` gave (`granted: true`) or withdrew consent to `purpose`, as a new row
 * stamped with the engine's clock, the caller, and the client's address and user agent. Rows
 * are never updated: withdrawing appends, so the history shows when each state held.
 *
 * @example
 *   await recordConsent(deps, ctx, privacySubject(ctx, registry, {}), { purpose: 'newsletter', granted: true }, client)
 */
export async function recordConsent(
  deps: ConsentDeps,
  ctx: RequestContext,
  subject: PrivacySubject,
  change: { purpose: string; granted: boolean },
  client: ConsentClient,
): Promise<ConsentState> {
  if (!deps.purposes.includes(change.purpose)) {
    const declared = deps.purposes.length
      ? `one of ${deps.purposes.map((p) => `"${p}"`).join(', ')}`
      : 'a purpose the operator declared in ER_CONSENT_PURPOSES (none is declared)'
    throw invalidPurpose(`expected ${declared}`)
  }
  const collectionId = subject.collection.id
  return deps.store.transaction(async (tx) => {
    // One person's changes are numbered one after another even when two arrive at once.
    await tx.lockKey(`consents:${collectionId}:${subject.id}`)
    const last = await tx.consents.last(collectionId, subject.id)
    const seq = (last?.seq ?? 0) + 1
    if (seq > MAX_CONSENT_CHANGES) {
      throw invalidPurpose(`at most ${MAX_CONSENT_CHANGES} consent changes are kept per person`)
    }
    const row: ConsentRow = {
      collectionId,
      recordId: subject.id,
      seq,
      purpose: change.purpose,
      granted: change.granted,
      at: deps.clock.now().toISOString(),
      actor: auditActor(ctx),
      ip: client.ip,
      userAgent: client.userAgent.slice(0, MAX_USER_AGENT),
    }
    await tx.consents.insert(row)
    return { purpose: row.purpose, granted: row.granted, at: row.at }
  })
}

/** The person's consents: the latest state of each purpose and every change, oldest first. */
export async function readConsents(
  deps: Pick<ConsentDeps, 'store'>,
  subject: PrivacySubject,
): Promise<ConsentReport> {
  const rows = await deps.store.consents.history(
    subject.collection.id,
    subject.id,
    MAX_CONSENT_CHANGES,
  )
  const current = new Map<string, ConsentState>()
  for (const row of rows) {
    current.set(row.purpose, { purpose: row.purpose, granted: row.granted, at: row.at })
  }
  return {
    subject: { collection: subject.collection.name, id: subject.id },
    current: [...current.values()].sort((a, b) => (a.purpose < b.purpose ? -1 : 1)),
    history: rows.map((row) => ({
      purpose: row.purpose,
      granted: row.granted,
      at: row.at,
      actor: row.actor,
      ip: row.ip,
      userAgent: row.userAgent,
    })),
  }
}

function invalidPurpose(message: string): EngineError {
  return new EngineError('ER_VALIDATION_FAILED', 'Invalid consent.', {
    errors: { purpose: [{ code: 'invalid', message }] },
  })
}
