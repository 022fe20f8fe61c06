import type { StoreSession } from '../../adapters/store/store.js'
import type { RequestContext } from '../context.js'
import type { BeforeWriteHooks } from '../records/records-deps.js'
import type { RecordsService } from '../records/records-service.js'
import type { SchemaRegistry } from '../schema/schema-registry.js'
import type { BeforeEvents, RecordAction } from './extension-api.js'
import type { ExtensionRegistrations } from './extension-registrations.js'
import { callerOf, checkHookDepth, createRecordsClient, sudoContext } from './records-client.js'

/**
 * The records service's `before` seam, filled by an extension's hooks. Each hook runs in
 * registration order inside the write's transaction; `e.records` (the caller) and `e.sudo` join
 * that transaction. Whatever a hook throws ends the write and rolls it back: a problem from
 * `er.problem` is the answer, anything else a 500 (the stack goes to the log).
 *
 * `records` is given late: the records service is built with these hooks in its deps.
 */
export function createBeforeHooks(
  registrations: ExtensionRegistrations,
  registry: SchemaRegistry,
  records: () => RecordsService,
): BeforeWriteHooks {
  async function run<A extends RecordAction>(
    ctx: RequestContext,
    session: StoreSession,
    collection: string,
    action: A,
    fields: Omit<BeforeEvents[A], 'collection' | 'caller' | 'requestId' | 'records' | 'sudo'>,
  ): Promise<BeforeEvents[A]> {
    checkHookDepth(ctx, `before('${action}') of "${collection}"`)
    const event = {
      collection,
      caller: callerOf(ctx),
      requestId: ctx.requestId,
      records: createRecordsClient(records(), ctx, session),
      sudo: createRecordsClient(records(), sudoContext(registry, ctx), session),
      ...fields,
    } as BeforeEvents[A]
    for (const hook of registrations.before(collection, action)) await hook(event)
    return event
  }

  return {
    has: (collection, action) => registrations.before(collection, action).length > 0,
    async beforeCreate(ctx, session, collection, record) {
      // A hook may change the record's fields or put a new object in its place.
      return (await run(ctx, session, collection.name, 'create', { action: 'create', record }))
        .record
    },
    async beforeUpdate(ctx, session, collection, id, changes, previous) {
      const fields = { action: 'update' as const, id, record: changes, previous }
      return (await run(ctx, session, collection.name, 'update', fields)).record
    },
    async beforeDelete(ctx, session, collection, id, record) {
      await run(ctx, session, collection.name, 'delete', {
        action: 'delete',
        id,
        record: Object.freeze(record),
      })
    },
  }
}
