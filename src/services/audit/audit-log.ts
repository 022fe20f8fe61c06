import { createHash } from 'node:crypto'
import type { AuditRow, Store, StoreSession } from '../../adapters/store/store.js'
import type { Clock } from '../../core/clock.js'
import type { RequestContext } from '../context.js'

/** The `prev_hash` of the first row. */
export const GENESIS_HASH = '0'.repeat(64)
/** Rows read per page while verifying (memory stays flat however long the log is). */
const VERIFY_PAGE = 1000
/** The action of the entry a prune appends: where the kept chain starts. */
export const PRUNE_ANCHOR = 'audit.prune'

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
 * when the action committed. A lock orders concurrent appends, so the chain never forks. Its
 * time is the engine's `clock`, as for every other instant the engine stores (a fixed clock in
 * tests, and retention's cutoffs compare like with like).
 */
export async function appendAudit(
  tx: StoreSession,
  ctx: RequestContext,
  entry: AuditEntry,
  clock: Clock,
): Promise<AuditRow> {
  return appendAuditAs(tx, auditActor(ctx), entry, clock)
}

/**
 * Appends `entry` as done by `actor` where no request exists: `system` (a scheduled backup, a
 * retention run) or `cli` (a restore, `engineroom migrate`).
 *
 * @example
 *   await store.transaction((tx) => appendAuditAs(tx, 'system', { action: 'backup.create', target: name }, clock))
 */
export async function appendAuditAs(
  tx: StoreSession,
  actor: string,
  entry: AuditEntry,
  clock: Clock,
): Promise<AuditRow> {
  await tx.lockKey('audit-chain')
  const last = await tx.audit.last()
  const prevHash = last?.hash ?? GENESIS_HASH
  const base = {
    seq: (last?.seq ?? 0) + 1,
    at: clock.now().toISOString(),
    actor,
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

/** What a prune anchor's detail holds: the last row it removed and that row's hash. */
interface PruneAnchor {
  throughSeq: number
  throughHash: string
  removed: number
}

/**
 * Audit retention (`ER_AUDIT_KEEP_DAYS`): deletes the rows written before `cutoff` and, in the
 * same transaction, appends an anchor entry `audit.prune` whose detail names the last row
 * removed and its hash. The first kept row still carries that hash as its `prev_hash`, and the
 * anchor is itself a link of the chain, so `verifyAudit` starts from the anchor's hash: removing
 * more old rows, or the anchor, or editing it, is still detected. Returns the rows removed.
 *
 * @example
 *   await pruneAudit(store, new Date(clock.now().getTime() - 365 * 86_400_000).toISOString(), clock)
 */
export async function pruneAudit(
  store: Pick<Store, 'transaction'>,
  cutoff: string,
  clock: Clock,
): Promise<number> {
  return store.transaction(async (tx) => {
    // The chain's lock: no row is appended between finding the last old row and the anchor.
    await tx.lockKey('audit-chain')
    const through = await tx.audit.lastBefore(cutoff)
    if (!through) return 0
    const removed = await tx.audit.deleteThrough(through.seq)
    const detail: PruneAnchor = { throughSeq: through.seq, throughHash: through.hash, removed }
    await appendAuditAs(
      tx,
      'system',
      {
        action: PRUNE_ANCHOR,
        target: `_audit/${through.seq}`,
        detail: { ...detail, before: cutoff },
      },
      clock,
    )
    return removed
  })
}

/**
 * Where the kept chain starts: genesis when row 1 is there, else the newest prune anchor's
 * last removed row, which must be exactly the row before the first one kept.
 */
async function chainStart(
  store: Pick<StoreSession, 'audit'>,
): Promise<{ seq: number; prevHash: string } | { broken: { seq: number; reason: string } }> {
  const [first] = await store.audit.page(0, 1)
  if (!first || first.seq === 1) return { seq: 1, prevHash: GENESIS_HASH }
  const anchorRow = await store.audit.lastOfAction(PRUNE_ANCHOR)
  let anchor: Partial<PruneAnchor> = {}
  try {
    anchor = anchorRow ? (JSON.parse(anchorRow.detail) as Partial<PruneAnchor>) : {}
  } catch {
    // An anchor whose detail is not JSON fails its own hash below.
  }
  if (anchor.throughSeq !== first.seq - 1 || typeof anchor.throughHash !== 'string') {
    const seq = typeof anchor.throughSeq === 'number' ? anchor.throughSeq + 1 : 1
    return {
      broken: {
        seq,
        reason: `missing (the first row is ${first.seq}, and no audit.prune entry removed the rows before it)`,
      },
    }
  }
  return { seq: first.seq, prevHash: anchor.throughHash }
}

/**
 * Walks the whole chain oldest first (from the latest prune anchor's hash when old rows were
 * pruned); stops at the first row whose link or hash is wrong.
 */
export async function verifyAudit(
  store: Pick<StoreSession, 'audit'>,
  onProgress?: (checked: number) => void,
): Promise<AuditVerification> {
  const start = await chainStart(store)
  if ('broken' in start) return { checked: 0, broken: start.broken }
  let prevHash = start.prevHash
  let expectedSeq = start.seq
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
