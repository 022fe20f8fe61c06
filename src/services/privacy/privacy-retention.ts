import type { Clock } from '../../core/clock.js'
import type { CollectionDef } from '../../core/schema/types.js'
import { SUPERUSERS } from '../../core/schema/system-collections.js'
import { appendAuditAs } from '../audit/audit-log.js'
import type { RequestContext } from '../context.js'
import type { RecordsService } from '../records/records-service.js'
import type { SchemaRegistry } from '../schema/schema-registry.js'
import { clearPersonal } from './privacy-erase.js'

/** Records read (and then deleted or anonymised) per page. */
const PAGE = 200
/** Records one run handles per collection; the next tick goes on where this one stopped. */
const MAX_PER_RUN = 20_000

export interface RetentionDeps {
  registry: SchemaRegistry
  records: Pick<RecordsService, 'list' | 'transaction' | 'remove' | 'settle'>
  clock: Clock
}

/** What one run did, per collection. */
export interface RetentionSummary {
  deleted: Record<string, number>
  anonymized: Record<string, number>
  /** Records that could not go (a `restrict` relation still points at them), with why. */
  skipped: Record<string, { count: number; reason: string }>
}

/**
 * Applies every collection's `retention`: records created more than `days` days before `now`
 * are deleted through the records service (relations' `onDelete`, files, events and hooks apply
 * as for any delete) or have their `personal` fields emptied. Each record is its own
 * transaction, so one that cannot go (a `restrict` relation) is skipped and reported, never
 * blocking the rest. What was done is one audit entry (counts only, no personal data).
 *
 * @example
 *   // collection "visits": { "retention": { "days": 90, "action": "delete" } }
 *   await applyRecordRetention(deps)   // { deleted: { visits: 1203 }, anonymized: {}, skipped: {} }
 */
export async function applyRecordRetention(deps: RetentionDeps): Promise<RetentionSummary> {
  const summary: RetentionSummary = { deleted: {}, anonymized: {}, skipped: {} }
  const now = deps.clock.now()
  const ctx = systemContext(deps.registry)
  for (const collection of deps.registry.list()) {
    const policy = collection.retention
    if (!policy) continue
    const cutoff = new Date(now.getTime() - policy.days * 86_400_000).toISOString()
    const filter = retentionFilter(collection, cutoff)
    if (filter === undefined) continue
    let cursor: string | undefined
    let handled = 0
    do {
      const page = await deps.records.list(ctx, collection.name, {
        filter,
        sort: 'created,id',
        fields: 'id',
        perPage: String(PAGE),
        ...(cursor ? { cursor } : {}),
      })
      for (const item of page.items) {
        const id = String(item.id)
        try {
          if (policy.action === 'delete') await deps.records.remove(ctx, collection.name, id)
          else await anonymize(deps, ctx, collection, id)
          const counts = policy.action === 'delete' ? summary.deleted : summary.anonymized
          counts[collection.name] = (counts[collection.name] ?? 0) + 1
        } catch (error) {
          const skipped = summary.skipped[collection.name]
          if (skipped) skipped.count++
          else summary.skipped[collection.name] = { count: 1, reason: reasonOf(error) }
        }
      }
      handled += page.items.length
      cursor = page.nextCursor ?? undefined
    } while (cursor && handled < MAX_PER_RUN)
  }
  // Anonymised records' personal files were marked in their transactions: this deletes them.
  deps.records.settle([], [])
  if (changed(summary)) {
    await deps.records.transaction((tx) =>
      appendAuditAs(
        tx,
        'system',
        {
          action: 'privacy.retention',
          target: Object.keys({ ...summary.deleted, ...summary.anonymized, ...summary.skipped })
            .sort()
            .join(','),
          detail: { ...summary },
        },
        deps.clock,
      ),
    )
  }
  return summary
}

/**
 * The records a policy still applies to: created before `cutoff` and, to anonymise, holding
 * some personal value (`x != null` is "x is not empty", selections included), so a record is
 * anonymised once, not at every tick. Undefined when nothing can match.
 */
function retentionFilter(collection: CollectionDef, cutoff: string): string | undefined {
  const older = `created < ${JSON.stringify(cutoff)}`
  if (collection.retention?.action === 'delete') return older
  const personal = collection.fields.filter((f) => f.personal).map((f) => `${f.name} != null`)
  return personal.length === 0 ? undefined : `${older} && (${personal.join(' || ')})`
}

async function anonymize(
  deps: RetentionDeps,
  ctx: RequestContext,
  collection: CollectionDef,
  id: string,
): Promise<void> {
  await deps.records.transaction(async (tx) => {
    const [row] = await tx.selectByIds(collection, [id])
    if (row) await clearPersonal(tx, ctx, collection, row, deps.clock.now().toISOString())
  })
}

/** A superuser context named `system`: the change events' actor, and no rule applies. */
function systemContext(registry: SchemaRegistry): RequestContext {
  return {
    auth: {
      collection: registry.get(SUPERUSERS.name),
      record: { id: 'system' },
      isSuperuser: true,
    },
    requestId: 'retention',
    query: {},
  }
}

function changed(summary: RetentionSummary): boolean {
  return [summary.deleted, summary.anonymized, summary.skipped].some(
    (counts) => Object.keys(counts).length > 0,
  )
}

function reasonOf(error: unknown): string {
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' ? code : 'ER_INTERNAL'
}
