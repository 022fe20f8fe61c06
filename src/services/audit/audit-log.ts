import { createHash } from 'node:crypto'
import type { AuditRow, StoreSession } from '../../adapters/store/store.js'
import type { RequestContext } from '../context.js'

/** The `prev_hash` of the first row. */
export const GENESIS_HASH = '0'.repeat(64)
/** Rows read per page while verifying (memory stays flat however long the log is). */
const VERIFY_PAGE = 1000

/** A privileged action to record: what was done, to what, with which figures. */
export interface AuditEntry {
  action: string
  target: string
  detail?: Record<string, unknown>
}

/** JSON with object keys sorted at every depth, so the same row always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value ?? null)
}

/** SHA-256 (hex) of the previous hash and the row's canonical JSON. */
export function auditHash(prevHash: string, row: Omit<AuditRow, 'hash' | 'prevHash'>): string {
  const body = canonicalJson({
    seq: row.seq,
    at: row.at,
    actor: row.actor,
    action: row.action,
    target: row.target,
    detail: JSON.parse(row.detail) as unknown,
  })
  return createHash('sha256').update(prevHash).update(body).digest('hex')
}

/** Who did it, as the log names them: `<collection>/<id>`, with the API key when one was used. */
export function auditActor(ctx: RequestContext): string {
  const auth = ctx.auth
  if (!auth) return 'system'
  const who = `${auth.collection.name}/${String(auth.record.id)}`
  return auth.apiKey ? `${who} (key ${auth.apiKey})` : who
}

/**
 * Appends `entry` inside `tx`, the transaction of the action itself: the row exists exactly
 * when the action committed. A lock orders concurrent appends, so the chain never forks.
 */
export async function appendAudit(
  tx: StoreSession,
  ctx: RequestContext,
  entry: AuditEntry,
): Promise<AuditRow> {
  await tx.lockKey('audit-chain')
  const last = await tx.audit.last()
  const prevHash = last?.hash ?? GENESIS_HASH
  const base = {
    seq: (last?.seq ?? 0) + 1,
    at: new Date().toISOString(),
    actor: auditActor(ctx),
    action: entry.action,
    target: entry.target,
    detail: canonicalJson(entry.detail ?? {}),
  }
  const row: AuditRow = { ...base, prevHash, hash: auditHash(prevHash, base) }
  await tx.audit.insert(row)
  return row
}

/** What verifying found: how many rows hold, and the first that does not (with why). */
export interface AuditVerification {
  checked: number
  broken?: { seq: number; reason: string }
}

/** Walks the whole chain oldest first; stops at the first row whose link or hash is wrong. */
export async function verifyAudit(
  store: Pick<StoreSession, 'audit'>,
  onProgress?: (checked: number) => void,
): Promise<AuditVerification> {
  let prevHash = GENESIS_HASH
  let expectedSeq = 1
  let checked = 0
  for (;;) {
    const rows = await store.audit.page(expectedSeq - 1, VERIFY_PAGE)
    for (const row of rows) {
      if (row.seq !== expectedSeq) {
        return {
          checked,
          broken: { seq: expectedSeq, reason: 'missing (the next row is ' + row.seq + ')' },
        }
      }
      if (row.prevHash !== prevHash) {
        return { checked, broken: { seq: row.seq, reason: 'does not link to the row before' } }
      }
      let hash: string
      try {
        hash = auditHash(prevHash, row)
      } catch {
        return { checked, broken: { seq: row.seq, reason: 'detail is not JSON' } }
      }
      if (hash !== row.hash) {
        return { checked, broken: { seq: row.seq, reason: 'its content does not match its hash' } }
      }
      prevHash = row.hash
      expectedSeq += 1
      checked += 1
    }
    onProgress?.(checked)
    if (rows.length < VERIFY_PAGE) return { checked }
  }
}
