import {
  GraphQLEnumType,
  GraphQLID,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLString,
  type GraphQLFieldConfigMap,
} from 'graphql'
import type { Row } from '../adapters/store/store.js'
import { errorCatalogue, type ErrorCode } from '../core/errors/codes.js'
import { EngineError } from '../core/errors/index.js'
import type { RecordsService } from '../services/records/records-service.js'
import type { RealtimeService, Subscription } from '../services/realtime/realtime-service.js'
import type { GraphqlContext } from './operations.js'
import type { CollectionTypes } from './record-types.js'
import { expandOf, subSelections } from './selection-expand.js'

export interface SubscriptionDeps {
  realtime: RealtimeService
  records: RecordsService
}

/** One change as a subscription yields it, or the reason its stream ended. */
type ChangeMessage =
  { eventId: string; action: 'create' | 'update' | 'delete'; record: Row } | { error: EngineError }

/**
 * `<collection>Changes(filter, id)`: the realtime feed over GraphQL. Each subscription is a
 * stream of the realtime hub, so it gets what an SSE subscriber gets, signed in or anonymous:
 * only events the caller's view rule allows (judged per event), hidden fields for superusers only, a bounded buffer, and
 * an end when the session is revoked. Relations in the selection are read when each event is
 * delivered, under the caller's rules (a deleted record has none).
 */
export function subscriptionFields(
  types: Map<string, CollectionTypes>,
  { realtime, records }: SubscriptionDeps,
): GraphQLFieldConfigMap<unknown, GraphqlContext> {
  const action = new GraphQLEnumType({
    name: 'ChangeAction',
    values: {
      CREATE: { value: 'create' },
      UPDATE: { value: 'update' },
      DELETE: { value: 'delete' },
    },
  })
  const fields: GraphQLFieldConfigMap<unknown, GraphqlContext> = {}
  for (const own of types.values()) {
    const name = own.collection.name
    const change = new GraphQLObjectType({
      name: own.names.change,
      description: `A committed change to a "${name}" record.`,
      fields: {
        eventId: {
          type: new GraphQLNonNull(GraphQLID),
          description: 'The outbox event id: increasing, in commit order.',
        },
        action: { type: new GraphQLNonNull(action) },
        record: {
          type: new GraphQLNonNull(own.record),
          description: 'After a create or update; as it was before, for a delete.',
        },
      },
    })
    fields[own.names.changes] = {
      type: new GraphQLNonNull(change),
      description: `Changes to "${name}" records the caller may view, as they commit.`,
      args: {
        filter: { type: GraphQLString, description: 'Only records matching this filter.' },
        id: { type: GraphQLID, description: 'Only this record.' },
      },
      subscribe: async (_source, args: Record<string, unknown>, context) => {
        // Without a token this is an anonymous stream, as over SSE: the realtime service refuses
        // it (ER_AUTH_REQUIRED) unless the collection's rules could let anyone see a record,
        // and then judges every event by the view rule with no caller.
        const subscription = await realtime.subscribe({
          token: context.token,
          ticket: undefined,
          topics: [typeof args.id === 'string' ? `${name}/${args.id}` : name],
          filter: typeof args.filter === 'string' ? args.filter : undefined,
          lastEventId: undefined,
          requestId: context.ctx.requestId,
          client: context.connection
            ? { within: context.connection }
            : { address: context.client.ip },
        })
        return await changeStream(subscription)
      },
      resolve: async (source, _args, { ctx }, info) => {
        const message = source as ChangeMessage
        if ('error' in message) throw message.error
        const expand = expandOf(types, name, subSelections(info.fieldNodes, 'record', info), info)
        if (!expand || message.action === 'delete') return message
        try {
          const viewed = await records.view(ctx, name, message.record.id as string, { expand })
          return { ...message, record: { ...message.record, expand: viewed.expand } }
        } catch (error) {
          // Gone or no longer viewable since the event: the event's record, without relations.
          if (error instanceof EngineError) return message
          throw error
        }
      },
    }
  }
  return fields
}

/**
 * Opens a hub stream whose frames become an async iterator. The queue's size is what the hub
 * sees as unread bytes, so a consumer that stops pulling is cut off like a slow SSE client.
 */
async function changeStream(
  subscription: Subscription,
): Promise<AsyncIterableIterator<ChangeMessage>> {
  const queue: { message: ChangeMessage; bytes: number }[] = []
  let queued = 0
  let ended = false
  let wake: (() => void) | undefined
  const push = (message: ChangeMessage, bytes: number) => {
    queue.push({ message, bytes })
    queued += bytes
    wake?.()
  }
  const { stream, attached } = subscription.open({
    write(frame) {
      const parsed = parseFrame(frame)
      if (parsed) push(parsed, frame.length)
    },
    bufferedBytes: () => queued,
    end() {
      ended = true
      wake?.()
    },
  })
  // Returned once attached: a change committed after the subscription starts reaches it.
  await attached
  async function* iterate(): AsyncGenerator<ChangeMessage> {
    try {
      for (;;) {
        const next = queue.shift()
        if (next) {
          queued -= next.bytes
          yield next.message
          if ('error' in next.message) return
          continue
        }
        if (ended) return
        await new Promise<void>((resolve) => (wake = resolve))
        wake = undefined
      }
    } finally {
      stream.close()
    }
  }
  const generator = iterate()
  // A generator that never started skips its `finally`: close the stream on `return` as well.
  const iterator: AsyncIterableIterator<ChangeMessage> = {
    next: () => generator.next(),
    return: (value?: unknown) => {
      stream.close()
      return generator.return(value as undefined)
    },
    [Symbol.asyncIterator]: () => iterator,
  }
  return iterator
}

/** An event frame as a change, an `event: error` frame as the reason; null for the rest. */
function parseFrame(frame: string): ChangeMessage | null {
  const fields = new Map<string, string>()
  for (const line of frame.split('\n')) {
    const colon = line.indexOf(': ')
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 2))
  }
  const event = fields.get('event')
  const data = fields.get('data')
  if (!event || data === undefined) return null
  const body = JSON.parse(data) as {
    record?: Row
    reason?: string
    message?: string
    code?: string
    lastEventId?: string
  }
  if (event === 'error') {
    // The frame's problem code when it is one of ours (the hub ending a failed stream says
    // ER_INTERNAL), else what the reason implies.
    const code: ErrorCode =
      body.code !== undefined && Object.hasOwn(errorCatalogue, body.code)
        ? (body.code as ErrorCode)
        : body.reason === 'unauthorized'
          ? 'ER_AUTH_TOKEN_INVALID'
          : 'ER_UNAVAILABLE'
    return {
      error: new EngineError(code, body.message ?? 'The change stream ended.', {
        extra: {
          ...(body.reason !== undefined ? { reason: body.reason } : {}),
          ...(body.lastEventId !== undefined ? { lastEventId: body.lastEventId } : {}),
        },
      }),
    }
  }
  if (event !== 'create' && event !== 'update' && event !== 'delete') return null
  return { eventId: fields.get('id') ?? '', action: event, record: body.record as Row }
}
