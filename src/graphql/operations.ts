import type { RealtimeConnection } from '../services/realtime/realtime-connections.js'
import {
  GraphQLBoolean,
  GraphQLID,
  GraphQLInt,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLString,
  type GraphQLFieldConfig,
  type GraphQLFieldConfigMap,
  type GraphQLResolveInfo,
} from 'graphql'
import { EngineError } from '../core/errors/index.js'
import type { Row } from '../adapters/store/store.js'
import type { AuthService, MfaChallenge, SignedIn } from '../services/auth/auth-service.js'
import type { RequestContext } from '../services/context.js'
import type { ListParams, RecordsService } from '../services/records/records-service.js'
import type { CollectionTypes } from './record-types.js'
import { expandOf, ownSelections, selects, subSelections } from './selection-expand.js'

/** What every resolver gets: the caller as REST would see it, and where the request came from. */
// A type, not an interface: graphql-http wants a context assignable to Record<string, unknown>.
export type GraphqlContext = {
  ctx: RequestContext
  client: { ip: string; userAgent: string }
  /** The caller's bearer token, over WebSocket only: subscriptions re-check it while open. */
  token?: string
  /** The WebSocket's realtime connection, over WebSocket only: subscriptions run within it. */
  connection?: RealtimeConnection
}

export interface OperationDeps {
  records: RecordsService
  auth: AuthService
}

type Field = GraphQLFieldConfig<unknown, GraphqlContext>
type Args = Record<string, unknown>

/**
 * Query fields of one collection: a page (`posts(filter, sort, page, perPage, cursor)`) and one
 * record (`postsById(id)`, null when it does not exist or the caller may not view it, as REST's
 * 404 does not tell the two apart). Both call the records service: rules, hidden fields, filter
 * checks, scopes and errors are REST's own.
 */
export function queryFields(
  types: Map<string, CollectionTypes>,
  own: CollectionTypes,
  { records }: OperationDeps,
): GraphQLFieldConfigMap<unknown, GraphqlContext> {
  const name = own.collection.name
  const list: Field = {
    type: new GraphQLNonNull(own.page),
    description: `Lists "${name}" records the caller may list, in the filter language of REST.`,
    extensions: { cost: 'perPage' },
    args: {
      filter: { type: GraphQLString, description: 'e.g. `status = "published" && views > 10`' },
      sort: { type: GraphQLString, description: 'e.g. `-created,title`' },
      page: { type: GraphQLInt },
      perPage: { type: GraphQLInt },
      cursor: { type: GraphQLString, description: 'A `nextCursor` from an earlier page.' },
    },
    resolve: async (_source, args: Args, { ctx }, info) => {
      const params: ListParams = {}
      for (const key of ['filter', 'sort', 'cursor'] as const) {
        if (typeof args[key] === 'string') params[key] = args[key]
      }
      for (const key of ['page', 'perPage'] as const) {
        if (typeof args[key] === 'number') params[key] = String(args[key])
      }
      const expand = expandOf(types, name, subSelections(info.fieldNodes, 'items', info), info)
      if (expand) params.expand = expand
      if (selects(info.fieldNodes, 'totalItems', info)) params.count = 'true'
      return records.list(ctx, name, params)
    },
  }
  const byId: Field = {
    type: own.record,
    description: `One "${name}" record; null when it does not exist or the caller may not view it.`,
    args: { id: { type: new GraphQLNonNull(GraphQLID) } },
    resolve: async (_source, args: Args, { ctx }, info) => {
      const expand = expandFor(types, name, info)
      try {
        return await records.view(ctx, name, String(args.id), expand ? { expand } : {})
      } catch (error) {
        if (error instanceof EngineError && error.code === 'ER_RECORD_NOT_FOUND') return null
        throw error
      }
    },
  }
  return { [own.names.list]: list, [own.names.byId]: byId }
}

/** create/update/delete of one collection, with typed inputs; the auth mutations for auth ones. */
export function mutationFields(
  types: Map<string, CollectionTypes>,
  own: CollectionTypes,
  deps: OperationDeps,
): GraphQLFieldConfigMap<unknown, GraphqlContext> {
  const { records } = deps
  const name = own.collection.name
  const { names } = own
  const fields: GraphQLFieldConfigMap<unknown, GraphqlContext> = {
    [names.create]: {
      type: new GraphQLNonNull(own.record),
      description: `Creates a "${name}" record (its create rule decides who may).`,
      args: own.createInput ? { input: { type: new GraphQLNonNull(own.createInput) } } : {},
      resolve: async (_source, args: Args, { ctx }, info) => {
        const created = await records.create(ctx, name, plain(args.input))
        return withRelations(records, types, ctx, name, created, info)
      },
    },
    [names.remove]: {
      type: new GraphQLNonNull(GraphQLBoolean),
      description: `Deletes a "${name}" record; relations follow their onDelete.`,
      args: { id: { type: new GraphQLNonNull(GraphQLID) } },
      resolve: async (_source, args: Args, { ctx }) => {
        await records.remove(ctx, name, String(args.id))
        return true
      },
    },
  }
  if (own.updateInput) {
    fields[names.update] = {
      type: new GraphQLNonNull(own.record),
      description: `Changes the given fields of a "${name}" record.`,
      args: {
        id: { type: new GraphQLNonNull(GraphQLID) },
        input: { type: new GraphQLNonNull(own.updateInput) },
      },
      resolve: async (_source, args: Args, { ctx }, info) => {
        const updated = await records.update(ctx, name, String(args.id), plain(args.input))
        return withRelations(records, types, ctx, name, updated, info)
      },
    }
  }
  if (own.collection.type === 'auth') Object.assign(fields, authFields(own, deps))
  return fields
}

/** Sign-in by password (with the MFA step when the account has it) and refresh. */
function authFields(
  own: CollectionTypes,
  { auth }: OperationDeps,
): GraphQLFieldConfigMap<unknown, GraphqlContext> {
  const name = own.collection.name
  const result = new GraphQLObjectType({
    name: own.names.authResult,
    description:
      'A new session (token, refreshToken, record), or, for an account with MFA on, ' +
      '`mfaRequired` and the `mfaToken` to complete with the MFA mutation.',
    fields: {
      token: { type: GraphQLString },
      refreshToken: { type: GraphQLString },
      record: { type: own.record },
      mfaRequired: { type: new GraphQLNonNull(GraphQLBoolean) },
      mfaToken: { type: GraphQLString },
    },
  })
  const shape = (signedIn: SignedIn | MfaChallenge) =>
    'mfaRequired' in signedIn ? signedIn : { ...signedIn, mfaRequired: false }
  const text = { type: new GraphQLNonNull(GraphQLString) }
  return {
    [own.names.authWithPassword]: {
      type: new GraphQLNonNull(result),
      args: { identity: text, password: text },
      resolve: async (_source, args: Args, { client }) =>
        shape(await auth.loginWithPassword(name, plain(args), client)),
    },
    [own.names.authMfaVerify]: {
      type: new GraphQLNonNull(result),
      args: {
        mfaToken: text,
        code: { type: GraphQLString },
        recoveryCode: { type: GraphQLString },
      },
      resolve: async (_source, args: Args, { client }) =>
        shape(await auth.verifyMfa(name, withoutNulls(plain(args)), client)),
    },
    [own.names.authRefresh]: {
      type: new GraphQLNonNull(result),
      args: { refreshToken: text },
      resolve: async (_source, args: Args) => shape(await auth.refresh(name, args.refreshToken)),
    },
  }
}

/** The relations a mutation's result selects, read back through `view` (with its rule). */
async function withRelations(
  records: RecordsService,
  types: Map<string, CollectionTypes>,
  ctx: RequestContext,
  name: string,
  row: Row,
  info: GraphQLResolveInfo,
): Promise<Row> {
  const expand = expandFor(types, name, info)
  if (!expand) return row
  try {
    return await records.view(ctx, name, row.id as string, { expand })
  } catch (error) {
    // Written but not viewable by its writer: the record as written, without relations.
    if (error instanceof EngineError && error.code === 'ER_RECORD_NOT_FOUND') return row
    throw error
  }
}

function expandFor(
  types: Map<string, CollectionTypes>,
  name: string,
  info: GraphQLResolveInfo,
): string | undefined {
  return expandOf(types, name, ownSelections(info.fieldNodes), info)
}

/** GraphQL input objects have no prototype; the services expect ordinary objects. */
function plain(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' ? { ...(value as Record<string, unknown>) } : {}
}

function withoutNulls(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null))
}
