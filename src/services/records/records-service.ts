import { EngineError } from '../../core/errors/index.js'
import {
  passwordEqualsEmail,
  validateCreateInput,
  validateUpdateInput,
  type RecordInput,
} from '../../core/schema/validate-record.js'
import type { CollectionDef, RuleName } from '../../core/schema/types.js'
import type { Condition, Row, StoreSession } from '../../adapters/store/store.js'
import type { FilterValues } from '../../adapters/store/compile-filter-values.js'
import { requireScope } from '../access.js'
import { actorOf, type RequestContext } from '../context.js'
import { decodeCursor, encodeCursor } from './cursor.js'
import { deleteWithRelations } from './delete-cascade.js'
import { SUPERUSERS } from '../../core/schema/system-collections.js'
import { appendAudit } from '../audit/audit-log.js'
import { DEFAULT_EXPAND_LIMITS } from './expand-limits.js'
import { expandRelations } from './expand-relations.js'
import { checkListFilter, parseExpand, parseFields, parsePaging, parseSort } from './list-query.js'
import {
  checkAuthIdFree,
  checkRelationsExist,
  lockAuthId,
  hashInputPassword,
  newRow,
  newTokenKey,
  stampDates,
} from './record-writes.js'
import type { BeforeWriteHooks, RecordsDeps } from './records-deps.js'
import { changeSnapshot, projectRecord, toApiRecord } from './record-view.js'
import { checkProtectedWrites, createBaseline } from './protected-fields.js'
import {
  apiKeyCannotChange,
  checkCredentialWrites,
  currentPasswordRequired,
  currentPasswordWrong,
  needsCurrentPassword,
  spendPasswordBudget,
} from './credential-writes.js'
import { createLoginThrottle } from '../auth/auth-throttle.js'
import {
  newFileRows,
  prepareFiles,
  resolveFiles,
  unusedFiles,
  type PreparedFiles,
} from './record-files.js'
import type { UploadedFile } from '../files/file-writes.js'
import { retryOnFreshSchema } from './fresh-schema-retry.js'
import { createAlone, createsAlone } from './record-create-alone.js'
import {
  accessDenied,
  recordNotFound,
  resolveRule,
  ruleConditions,
  ruleValues,
  traversalGuard,
  type RuleAccess,
} from './record-rules.js'

/** `GET …/records` parameters, as strings from any transport. */
export type ListParams = Partial<
  Record<'filter' | 'sort' | 'page' | 'perPage' | 'cursor' | 'fields' | 'expand' | 'count', string>
>
export type ViewParams = Partial<Record<'fields' | 'expand', string>>

export interface RecordPage {
  items: Row[]
  page: number
  perPage: number
  nextCursor: string | null
  totalItems?: number
}

export type RecordsService = ReturnType<typeof createRecordsService>

/**
 * Record use cases for every transport. Each reads as its steps: resolve the collection, check
 * the access rule (in SQL, see record-rules.ts), validate, write in one transaction, shape the
 * result. Status when a rule refuses:
 * - a rule that is `null` for the caller: 401 anonymous / 403 signed in, before any lookup;
 * - view, and update/delete of a record the caller cannot see: 404, so existence does not leak;
 * - create, and update/delete of a record the caller can see: 401 anonymous / 403 signed in.
 */
export function createRecordsService(deps: RecordsDeps) {
  const { store, registry, clock } = deps
  const now = () => clock.now().toISOString()
  const throttle = createLoginThrottle(store, clock, deps.throttle)
  const expandLimits = deps.expandLimits ?? DEFAULT_EXPAND_LIMITS

  /**
   * The live definition. Inside a caller's transaction (batch) the schema was refreshed when it
   * began: a read on the store beside an open SQLite transaction would wait for it forever.
   */
  function collectionFor(name: string, tx?: StoreSession): CollectionDef | Promise<CollectionDef> {
    if (!tx && registry.stale) return registry.refreshIfStale().then(() => registry.get(name))
    return registry.get(name)
  }

  /** The rule, or a 401/403 when it grants the caller nothing at all. */
  function requireRule(ctx: RequestContext, collection: CollectionDef, action: RuleName) {
    const access = resolveRule(ctx, registry, collection, action)
    if (access.kind === 'denied') throw accessDenied(ctx, collection)
    return access
  }

  /** The view rule's conditions for expanding into `target`, or null when it grants nothing. */
  function viewConditions(ctx: RequestContext, values: FilterValues) {
    return (target: CollectionDef): Condition[] | null => {
      const access = resolveRule(ctx, registry, target, 'view')
      return access.kind === 'denied' ? null : ruleConditions(access, values)
    }
  }

  /** Lists records; `tx` reads inside a caller's transaction (an extension's before hook). */
  async function list(
    ctx: RequestContext,
    name: string,
    params: ListParams,
    tx?: StoreSession,
  ): Promise<RecordPage> {
    requireScope(ctx, name, 'list', params.expand)
    const db = tx ?? store
    const collection = await collectionFor(name, tx)
    const access = requireRule(ctx, collection, 'list')
    const guard = traversalGuard(ctx)
    const showHidden = ctx.auth?.isSuperuser === true
    const filter = checkListFilter(collection, registry, params.filter, guard)
    const sort = parseSort(collection, registry, params.sort, guard)
    const expand = parseExpand(collection, registry, params.expand, showHidden)
    const projection = parseFields(collection, expand, params.fields, showHidden)
    const { page, perPage } = parsePaging(params)
    if (params.count !== undefined && params.count !== 'true' && params.count !== 'false') {
      throw new EngineError('ER_QUERY_INVALID', 'count: must be true or false', {
        errors: { count: [{ code: 'invalid', message: 'must be true or false' }] },
      })
    }
    const values = ruleValues(ctx, now)
    // The rule is one more SQL condition: counts, pages and cursors only ever see what it allows.
    const where = [...ruleConditions(access, values), ...(filter ? [{ expr: filter, values }] : [])]
    const scope = `${collection.id}\n${params.filter ?? ''}\n${params.sort ?? ''}`
    const after = params.cursor ? decodeCursor(deps.secret, scope, params.cursor) : undefined
    if (after && params.page !== undefined) {
      throw new EngineError('ER_QUERY_INVALID', 'Use either page or cursor, not both.', {
        errors: { cursor: [{ code: 'invalid', message: 'cannot be combined with page' }] },
      })
    }
    // One row more than asked tells whether another page exists, with no count query.
    const result = await db.selectRecords({
      collection,
      where,
      sort,
      limit: perPage + 1,
      ...(after ? { after } : { offset: (page - 1) * perPage }),
    })
    const hasMore = result.rows.length > perPage
    const rows = result.rows.slice(0, perPage)
    for (const row of rows) toApiRecord(collection, row, showHidden)
    if (expand.length > 0) {
      await expandRelations(db, rows, expand, {
        showHidden,
        visible: viewConditions(ctx, values),
        limits: expandLimits,
      })
    }
    const lastSort = result.sortValues[rows.length - 1]
    const out: RecordPage = {
      items: rows.map((row) => projectRecord(row, projection)),
      page: after ? 1 : page,
      perPage,
      nextCursor: hasMore && lastSort ? encodeCursor(deps.secret, scope, lastSort) : null,
    }
    if (params.count === 'true') out.totalItems = await db.countRecords(collection, where)
    return out
  }

  async function view(
    ctx: RequestContext,
    name: string,
    id: string,
    params: ViewParams = {},
    tx?: StoreSession,
  ): Promise<Row> {
    requireScope(ctx, name, 'view', params.expand)
    const db = tx ?? store
    const collection = await collectionFor(name, tx)
    const access = requireRule(ctx, collection, 'view')
    const showHidden = ctx.auth?.isSuperuser === true
    const expand = parseExpand(collection, registry, params.expand, showHidden)
    const projection = parseFields(collection, expand, params.fields, showHidden)
    const values = ruleValues(ctx, now)
    // Selected by id AND the rule: a record the caller may not see is simply not found.
    const [row] = await db.selectByIds(collection, [id], ruleConditions(access, values))
    if (!row) throw recordNotFound(collection, id)
    toApiRecord(collection, row, showHidden)
    if (expand.length > 0) {
      await expandRelations(db, [row], expand, {
        showHidden,
        visible: viewConditions(ctx, values),
        limits: expandLimits,
      })
    }
    return projectRecord(row, projection)
  }

  /**
   * Creates a record; `tx` joins a caller's transaction. `uploads` are files a multipart request
   * already stored; with the body's file keys they become the file fields' values.
   */
  async function create(
    ctx: RequestContext,
    name: string,
    body: unknown,
    tx: StoreSession | undefined = undefined,
    uploads: readonly UploadedFile[] = [],
  ): Promise<Row> {
    return withFiles(
      () => prepareCreate(ctx, name, body, tx, uploads),
      async (prepared) => {
        // Nothing but the insert and its event: one atomic write, no transaction round trips.
        if (!tx && createsAlone(prepared, deps.hooks)) {
          const created = await createAlone(ctx, store, prepared)
          deps.onCommit?.()
          return created
        }
        return inTransaction(tx, (session) => applyCreate(ctx, session, prepared))
      },
    )
  }

  async function update(
    ctx: RequestContext,
    name: string,
    id: string,
    body: unknown,
    tx: StoreSession | undefined = undefined,
    uploads: readonly UploadedFile[] = [],
  ): Promise<Row> {
    return withFiles(
      () => prepareUpdate(ctx, name, id, body, tx, uploads),
      (prepared) => inTransaction(tx, (session) => applyUpdate(ctx, session, prepared)),
    )
  }

  /**
   * A write that may bring new files: when it fails they are deleted (nothing committed refers
   * to them); once it commits, the files service takes over those it kept and deletes those it
   * replaced, and the blobs of files sent but not kept (replaced within the request) go.
   */
  async function withFiles<P extends PreparedCreate | PreparedUpdate>(
    prepare: () => Promise<P>,
    write: (prepared: P) => Promise<Row>,
  ): Promise<Row> {
    const prepared = await prepare()
    let result: Row
    try {
      result = await write(prepared)
    } catch (error) {
      await discard([prepared])
      throw error
    }
    settle([prepared], [result])
    return result
  }

  /** Deletes the new files of prepared writes that did not commit (a failed batch). */
  async function discard(prepared: readonly PreparedWrite[]): Promise<void> {
    for (const write of prepared) {
      if (write.kind !== 'delete') await deps.files?.discard(write.files.newFiles)
    }
  }

  /** After the commit of prepared writes (and their results, in order): see `withFiles`. */
  function settle(prepared: readonly PreparedWrite[], results: readonly (Row | null)[]): void {
    const writes = deps.files
    if (!writes) return
    const kept = prepared.flatMap((write, i) => {
      if (write.kind === 'delete' || write.files.newFiles.length === 0) return []
      const unused = unusedFiles(write.files, results[i] ?? {})
      void writes.discard(unused)
      return write.files.newFiles.filter((f) => !unused.includes(f))
    })
    // Also wakes the deletion of files the writes (and deletes) removed.
    writes.afterCommit(kept)
  }

  /** Deletes a record; cascades (`onDelete`) then run with the engine's powers, not the caller's. */
  async function remove(
    ctx: RequestContext,
    name: string,
    id: string,
    tx: StoreSession | undefined = undefined,
  ): Promise<void> {
    const prepared = await prepareRemove(ctx, name, id, tx)
    await inTransaction(tx, (session) => applyRemove(ctx, session, prepared))
    // The deleted records' files were marked in the transaction; their blobs go now.
    if (!tx) settle([prepared], [null])
  }

  /**
   * Everything a write needs that does not read the data it changes: scope, rule, validation,
   * and the slow part, password hashing. Done before the write's transaction begins, so a
   * transaction holds the database (SQLite has one writer) only for its statements.
   */
  async function prepare(ctx: RequestContext, op: WriteOp): Promise<PreparedWrite> {
    switch (op.method) {
      case 'create':
        return prepareCreate(ctx, op.name, op.body)
      case 'update':
        return prepareUpdate(ctx, op.name, op.id, op.body)
      case 'delete':
        return prepareRemove(ctx, op.name, op.id)
    }
  }

  /** The transactional part of a prepared write, on `session`. */
  async function apply(
    ctx: RequestContext,
    session: StoreSession,
    prepared: PreparedWrite,
  ): Promise<Row | null> {
    switch (prepared.kind) {
      case 'create':
        return applyCreate(ctx, session, prepared)
      case 'update':
        return applyUpdate(ctx, session, prepared)
      case 'delete':
        await applyRemove(ctx, session, prepared)
        return null
    }
  }

  async function prepareCreate(
    ctx: RequestContext,
    name: string,
    body: unknown,
    tx?: StoreSession,
    uploads: readonly UploadedFile[] = [],
  ): Promise<PreparedCreate> {
    requireScope(ctx, name, 'create')
    const collection = await collectionFor(name, tx)
    const access = requireRule(ctx, collection, 'create')
    const files = await prepareFiles(deps.files, ctx, collection, body, uploads)
    try {
      // File keys (`avatar`, `avatar+` …) become the file fields' new names.
      const sentBody =
        files.ops.size > 0
          ? { ...(files.body as Row), ...resolveFiles(files, undefined).values }
          : body
      const input = validateCreateInput(collection, sentBody)
      // What the client sent, without the defaults validation filled in: `@request.body` and
      // the protected-field check are about the request, not the would-be record.
      const sent = sentValues(input, sentBody as Record<string, unknown>)
      checkProtectedWrites(ctx, collection, sent, createBaseline(collection))
      spendPasswordBudget(ctx, collection, input)
      const values = await hashInputPassword(collection, input, deps.passwords)
      const row = newRow(collection, input, values, now())
      const rule = ruleConditions(
        access,
        ruleValues(ctx, now, ruleBody({ ...input, values: sent })),
      )
      // Finished resumable uploads are copied to storage now, outside the transaction.
      await deps.files?.storePlanned(files.planned, collection, row.id as string)
      return { kind: 'create', collection, input, row, rule, files }
    } catch (error) {
      await deps.files?.discard(files.newFiles)
      throw error
    }
  }

  async function applyCreate(
    ctx: RequestContext,
    session: StoreSession,
    prepared: PreparedCreate,
  ): Promise<Row> {
    const { collection, input, rule, files } = prepared
    const row = deps.hooks?.has(collection.name, 'create')
      ? await hookedCreateRow(ctx, session, prepared)
      : prepared.row
    const id = row.id as string
    const chosenAuthId = collection.type === 'auth' && input.id !== undefined
    if (chosenAuthId) await lockAuthId(session, id)
    // A unique conflict must not tell a caller the rule refuses that another record holds the
    // value (which applications exist, which e-mail is taken): where one could arise, the rule
    // is judged on the row before it is inserted, and a refusal wins over the conflict.
    if (
      rule.length > 0 &&
      (input.id !== undefined || hasUniqueConstraint(collection)) &&
      (await session.snapshotsMatching(collection, [row], rule)).size === 0
    ) {
      throw accessDenied(ctx, collection)
    }
    const stored = await session.insertRecord(collection, row)
    await session.files.insertFiles(newFileRows(files, collection, id, row, now()))
    // The rule may name the record's own fields, so it is checked on the row as inserted;
    // throwing here rolls the insert back (PocketBase does the same).
    return finishWrite(
      ctx,
      session,
      collection,
      id,
      row,
      rule,
      'create',
      async () => {
        if (chosenAuthId) await checkAuthIdFree(session, registry, collection, id)
      },
      stored,
    )
  }

  async function prepareUpdate(
    ctx: RequestContext,
    name: string,
    id: string,
    body: unknown,
    tx?: StoreSession,
    uploads: readonly UploadedFile[] = [],
  ): Promise<PreparedUpdate> {
    requireScope(ctx, name, 'update')
    const collection = await collectionFor(name, tx)
    const access = resolveWriteRule(ctx, collection, 'update')
    const files = await prepareFiles(deps.files, ctx, collection, body, uploads)
    try {
      const input = validateUpdateInput(collection, files.body, id)
      spendPasswordBudget(ctx, collection, input)
      const proven = needsCurrentPassword(ctx, collection, input)
        ? await proveCurrentPassword(ctx, tx ?? store, collection, access, id, input)
        : undefined
      const values = await hashInputPassword(collection, input, deps.passwords)
      if (collection.type === 'auth' && 'email' in values) values.tokenKey ??= newTokenKey()
      stampDates(collection, values, now(), false)
      await deps.files?.storePlanned(files.planned, collection, id)
      return { kind: 'update', collection, access, id, input, values, proven, files }
    } catch (error) {
      await deps.files?.discard(files.newFiles)
      throw error
    }
  }

  async function applyUpdate(
    ctx: RequestContext,
    session: StoreSession,
    prepared: PreparedUpdate,
  ): Promise<Row> {
    const { collection, access, id, proven, files } = prepared
    let { input, values } = prepared
    const stored = await findRow(session, collection, id)
    const rule = await requireRecordRule(ctx, session, collection, access, id, {
      body: ruleBody(input),
      stored,
    })
    checkProtectedWrites(ctx, collection, input.values, stored)
    checkCredentialWrites(ctx, collection, input, stored)
    // The password proved before the transaction must still be the stored one.
    if (proven !== undefined && stored.password !== proven) throw currentPasswordWrong()
    checkPasswordPolicy(collection, input, stored)
    if (deps.hooks?.has(collection.name, 'update')) {
      ;({ input, values } = await hookedUpdate(ctx, session, prepared, stored))
    }
    const written =
      'verified' in input.values ? { ...values, verified: input.values.verified } : values
    if (files.ops.size > 0) {
      // Resolved against the row read in this transaction: two concurrent `avatar+` both land.
      const { values: fileValues, removed } = resolveFiles(files, stored)
      Object.assign(written, fileValues)
      await session.files.insertFiles(newFileRows(files, collection, id, fileValues, now()))
      await session.files.markDeleted(collection.id, id, now(), removed)
    }
    await session.updateRecord(collection, id, written)
    if (collection.type === 'auth' && input.password !== undefined) {
      // Keys were issued on the strength of the old password; they end with it.
      await session.auth.revokeRecordApiKeys(collection.id, id, now())
    }
    // The rule must still hold afterwards: a write may not carry a record out of the caller's
    // reach, e.g. hand a post to another author under `author = @request.auth.id`.
    return finishWrite(ctx, session, collection, id, written, rule, 'update')
  }

  async function prepareRemove(
    ctx: RequestContext,
    name: string,
    id: string,
    tx?: StoreSession,
  ): Promise<PreparedRemove> {
    requireScope(ctx, name, 'delete')
    const collection = await collectionFor(name, tx)
    const access = resolveWriteRule(ctx, collection, 'delete')
    return { kind: 'delete', collection, access, id }
  }

  async function applyRemove(
    ctx: RequestContext,
    session: StoreSession,
    { collection, access, id }: PreparedRemove,
  ): Promise<void> {
    const row = await findRow(session, collection, id)
    await requireRecordRule(ctx, session, collection, access, id, {})
    if (deps.hooks?.has(collection.name, 'delete')) {
      await deps.hooks.beforeDelete(ctx, session, collection, id, changeSnapshot(collection, row))
    }
    await deleteWithRelations(session, registry, collection, row, now(), actorOf(ctx))
    if (collection.name === SUPERUSERS.name) {
      await appendAudit(
        session,
        ctx,
        {
          action: 'superuser.delete',
          target: `${SUPERUSERS.name}/${id}`,
        },
        clock,
      )
    }
  }

  /**
   * The new row as the extension's `before('create')` hooks leave it: they see the values (no
   * password hash or token key) and may change any field but the id, dates and files; a changed
   * record is validated again as if a client had sent it.
   */
  async function hookedCreateRow(
    ctx: RequestContext,
    session: StoreSession,
    { collection, input, row }: PreparedCreate,
  ): Promise<Row> {
    const { password, tokenKey, ...shown } = row
    const sent = JSON.stringify(shown)
    const record = await (deps.hooks as BeforeWriteHooks).beforeCreate(ctx, session, collection, {
      ...structuredClone(shown),
    })
    if (JSON.stringify(record) === sent) return row
    const body = withoutManagedKeys(collection, record, row)
    if (input.password !== undefined) body.password = input.password
    const again = revalidated(collection, 'create', () => validateCreateInput(collection, body))
    const values: Row = { ...again.values }
    if (password !== undefined) Object.assign(values, { password, tokenKey })
    return newRow(collection, { ...again, id: row.id as string }, values, row.created as string)
  }

  /** The update's input and values as the extension's `before('update')` hooks leave them. */
  async function hookedUpdate(
    ctx: RequestContext,
    session: StoreSession,
    { collection, id, input, values }: PreparedUpdate,
    stored: Row,
  ): Promise<{ input: RecordInput; values: Row }> {
    const sent = JSON.stringify(input.values)
    const changes = await (deps.hooks as BeforeWriteHooks).beforeUpdate(
      ctx,
      session,
      collection,
      id,
      structuredClone(input.values),
      changeSnapshot(collection, stored),
    )
    if (JSON.stringify(changes) === sent) return { input, values }
    const body = withoutManagedKeys(collection, changes, input.values)
    const again = revalidated(collection, 'update', () => validateUpdateInput(collection, body, id))
    const kept: Row = { ...values }
    for (const key of Object.keys(input.values)) delete kept[key]
    return {
      input: { ...input, values: again.values },
      values: { ...kept, ...again.values },
    }
  }

  /**
   * A non-superuser's new password needs the current one. Checked before the write's
   * transaction (argon2 takes tens of milliseconds, and SQLite has one writer), after the same
   * rule checks the write makes, so a caller who may not update the record learns nothing from
   * the answer. Wrong guesses count with sign-in failures of the account (and the caller's
   * address), so a stolen access token is no faster a way to guess. Returns the hash proved.
   */
  async function proveCurrentPassword(
    ctx: RequestContext,
    session: StoreSession,
    collection: CollectionDef,
    access: RuleAccess,
    id: string,
    input: RecordInput,
  ): Promise<string> {
    const stored = await findRow(session, collection, id)
    await requireRecordRule(ctx, session, collection, access, id, {
      body: ruleBody(input),
      stored,
    })
    // Refused before any guess is judged, so the answer says nothing of the guess.
    if (ctx.auth?.apiKey) throw apiKeyCannotChange('password')
    if (input.oldPassword === undefined) throw currentPasswordRequired()
    const subject = {
      collectionId: collection.id,
      identity: String(stored.email),
      ip: ctx.ip ?? 'unknown',
    }
    const attempt = await throttle.begin(subject)
    const hash = stored.password as string
    if (!(await deps.passwords.verify(hash, input.oldPassword))) {
      await attempt.failed()
      throw currentPasswordWrong()
    }
    await attempt.succeeded()
    return hash
  }

  /**
   * The common end of a create or update, inside its transaction: the rule must hold on the row
   * as written (else 401/403 and the write rolls back), then relation targets are checked — only
   * after the rule, so a refused caller never learns which related ids exist — and the record is
   * read back with its change event added to the outbox.
   */
  async function finishWrite(
    ctx: RequestContext,
    session: StoreSession,
    collection: CollectionDef,
    id: string,
    written: Row,
    rule: Condition[],
    action: 'create' | 'update',
    afterRule?: () => Promise<void>,
    stored?: Row,
  ): Promise<Row> {
    if (rule.length > 0 && (await session.selectByIds(collection, [id], rule)).length === 0)
      throw accessDenied(ctx, collection)
    await afterRule?.()
    await checkRelationsExist(session, registry, collection, written, id)
    // Who made a superuser is kept in the tamper-evident log, in the same transaction.
    if (action === 'create' && collection.name === SUPERUSERS.name) {
      await appendAudit(
        session,
        ctx,
        {
          action: 'superuser.create',
          target: `${SUPERUSERS.name}/${id}`,
        },
        clock,
      )
    }
    // Nothing above changes the record: the row the insert returned is the row as written.
    return readBackAndRecord(ctx, session, collection, id, action, stored)
  }

  /**
   * An update or delete rule. When neither it nor the view rule grants the caller anything, the
   * answer is 401/403 before any lookup; otherwise refusals are decided per record.
   */
  function resolveWriteRule(ctx: RequestContext, collection: CollectionDef, action: RuleName) {
    const access = resolveRule(ctx, registry, collection, action)
    if (
      access.kind === 'denied' &&
      resolveRule(ctx, registry, collection, 'view').kind === 'denied'
    )
      throw accessDenied(ctx, collection)
    return access
  }

  /**
   * Checks the stored record against the rule (by id AND rule, in SQL) and returns its
   * conditions. A refusal is 404 when the caller cannot view the record either, else 401/403.
   */
  async function requireRecordRule(
    ctx: RequestContext,
    session: StoreSession,
    collection: CollectionDef,
    access: RuleAccess,
    id: string,
    request: { body?: Record<string, unknown>; stored?: Row },
  ): Promise<Condition[]> {
    const values = ruleValues(ctx, now, request.body, request.stored)
    if (access.kind === 'granted') {
      const rule = ruleConditions(access, values)
      if (rule.length === 0 || (await session.selectByIds(collection, [id], rule)).length > 0)
        return rule
    }
    const view = resolveRule(ctx, registry, collection, 'view')
    const visible =
      view.kind === 'granted' &&
      (await session.selectByIds(collection, [id], ruleConditions(view, values))).length > 0
    throw visible ? accessDenied(ctx, collection) : recordNotFound(collection, id)
  }

  async function inTransaction<T>(
    tx: StoreSession | undefined,
    work: (session: StoreSession) => Promise<T>,
  ): Promise<T> {
    if (tx) return work(tx)
    const result = await store.transaction(work)
    deps.onCommit?.()
    return result
  }

  /** One transaction for several operations (batch), on the schema as it is now. */
  async function transaction<T>(work: (tx: StoreSession) => Promise<T>): Promise<T> {
    await registry.refreshIfStale()
    const result = await store.transaction(work)
    deps.onCommit?.()
    return result
  }

  /**
   * Which snapshots (record states carried by change events) the caller could view and that
   * match `filter`: the view rule and filter judged in SQL against each snapshot as if it were
   * the stored row. Returns the indexes into `snapshots` that pass.
   */
  async function visibleSnapshots(
    ctx: RequestContext,
    name: string,
    snapshots: readonly Row[],
    filter?: string,
  ): Promise<Set<number>> {
    const collection = await collectionFor(name)
    const access = requireRule(ctx, collection, 'view')
    const checked = checkListFilter(collection, registry, filter, traversalGuard(ctx))
    const values = ruleValues(ctx, now)
    return store.snapshotsMatching(collection, snapshots, [
      ...ruleConditions(access, values),
      ...(checked ? [{ expr: checked, values }] : []),
    ])
  }

  /**
   * Each call that owns its transaction (no `tx` given) runs again once when it failed on a
   * stale schema (see fresh-schema-retry.ts). A multipart write is not retried: its uploaded
   * files were deleted with the failed attempt, so it is answered 503 ER_SCHEMA_CHANGED.
   */
  const fresh = <T>(ctx: RequestContext, tx: StoreSession | undefined, work: () => Promise<T>) =>
    tx ? work() : retryOnFreshSchema(registry, ctx, work)

  return {
    /** What `expand` may add to one response; GraphQL's cost estimate reads it too. */
    expandLimits,
    list: (
      ctx: RequestContext,
      name: string,
      params: ListParams,
      tx?: StoreSession,
    ): Promise<RecordPage> => fresh(ctx, tx, () => list(ctx, name, params, tx)),
    view: (
      ctx: RequestContext,
      name: string,
      id: string,
      params: ViewParams = {},
      tx?: StoreSession,
    ): Promise<Row> => fresh(ctx, tx, () => view(ctx, name, id, params, tx)),
    create: (
      ctx: RequestContext,
      name: string,
      body: unknown,
      tx: StoreSession | undefined = undefined,
      uploads: readonly UploadedFile[] = [],
    ): Promise<Row> =>
      uploads.length > 0
        ? create(ctx, name, body, tx, uploads)
        : fresh(ctx, tx, () => create(ctx, name, body, tx)),
    update: (
      ctx: RequestContext,
      name: string,
      id: string,
      body: unknown,
      tx: StoreSession | undefined = undefined,
      uploads: readonly UploadedFile[] = [],
    ): Promise<Row> =>
      uploads.length > 0
        ? update(ctx, name, id, body, tx, uploads)
        : fresh(ctx, tx, () => update(ctx, name, id, body, tx)),
    remove: (ctx: RequestContext, name: string, id: string, tx?: StoreSession): Promise<void> =>
      fresh(ctx, tx, () => remove(ctx, name, id, tx)),
    prepare,
    apply,
    discard,
    settle,
    transaction,
    /** Runs a call made of several (a batch) again once when it failed on a stale schema. */
    retryOnFreshSchema: <T>(ctx: RequestContext, work: () => Promise<T>) =>
      retryOnFreshSchema(registry, ctx, work),
    /** Not retried here: the realtime hub isolates a failing stream and it resumes on its own. */
    visibleSnapshots,
  }
}

/** One write of a batch, as its transport parsed it. */
export type WriteOp =
  | { method: 'create'; name: string; body: unknown }
  | { method: 'update'; name: string; id: string; body: unknown }
  | { method: 'delete'; name: string; id: string }

interface PreparedCreate {
  kind: 'create'
  collection: CollectionDef
  input: RecordInput
  row: Row
  rule: Condition[]
  /** Its file changes; new files are already stored. */
  files: PreparedFiles
}

interface PreparedUpdate {
  kind: 'update'
  collection: CollectionDef
  access: RuleAccess
  id: string
  input: RecordInput
  values: Row
  /** The stored password hash the caller's `oldPassword` matched. */
  proven: string | undefined
  /** Its file changes; new files are already stored. */
  files: PreparedFiles
}

interface PreparedRemove {
  kind: 'delete'
  collection: CollectionDef
  access: RuleAccess
  id: string
}

/** A write checked and made ready outside any transaction; `apply` runs it in one. */
export type PreparedWrite = PreparedCreate | PreparedUpdate | PreparedRemove

/** The marker `@request.body.password` holds: rules may test `:isset`, never read the secret. */
const PASSWORD_MARK = '[password]'

/** `@request.body` for a rule: the validated body, with the password replaced by a marker. */
function ruleBody(input: RecordInput): Record<string, unknown> {
  return {
    ...input.values,
    ...(input.id !== undefined ? { id: input.id } : {}),
    ...(input.password !== undefined ? { password: PASSWORD_MARK } : {}),
  }
}

/**
 * A hook's record as a body to validate again: the keys the engine manages (id, dates,
 * secrets) dropped, and file fields put back as they were (files are stored before the hook).
 */
function withoutManagedKeys(
  collection: CollectionDef,
  record: Row,
  original: Row,
): Record<string, unknown> {
  const { id: _id, created: _c, updated: _u, password: _p, tokenKey: _t, ...body } = record
  for (const field of collection.fields) {
    if (field.type !== 'file') continue
    if (field.name in original) body[field.name] = original[field.name]
    else delete body[field.name]
  }
  return body
}

/**
 * A record a hook made invalid is the extension's bug, not the client's: a 500 (logged with
 * what was wrong) rather than a 400 the client could do nothing about.
 */
function revalidated(
  collection: CollectionDef,
  action: 'create' | 'update',
  validate: () => RecordInput,
): RecordInput {
  try {
    return validate()
  } catch (error) {
    if (!(error instanceof EngineError)) throw error
    throw new Error(
      `A before('${action}') hook of "${collection.name}" left an invalid record: ${error.message}`,
      { cause: error },
    )
  }
}

/** The validated values of the keys the client actually sent (defaults excluded). */
function sentValues(input: RecordInput, body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(body))
    if (Object.hasOwn(input.values, key)) out[key] = input.values[key]
  return out
}

function checkPasswordPolicy(collection: CollectionDef, input: RecordInput, stored: Row): void {
  if (collection.type !== 'auth' || input.password === undefined) return
  if (passwordEqualsEmail(input.password, input.values.email ?? stored.email)) {
    throw new EngineError('ER_VALIDATION_FAILED', 'password: must not be the e-mail address.', {
      errors: { password: [{ code: 'equals_email', message: 'must not be the e-mail address' }] },
    })
  }
}

/**
 * The record as written, read in the same session (a batch sees its own writes), and its change
 * event added to the transaction's outbox. `stored`: the row the insert returned, read already.
 */
async function readBackAndRecord(
  ctx: RequestContext,
  session: StoreSession,
  collection: CollectionDef,
  id: string,
  action: 'create' | 'update',
  stored?: Row,
): Promise<Row> {
  const row = stored ?? (await findRow(session, collection, id))
  const actor = actorOf(ctx)
  session.recordChange({
    collection: collection.name,
    recordId: id,
    action,
    record: changeSnapshot(collection, row),
    ...(actor ? { actor } : {}),
  })
  return toApiRecord(collection, row, ctx.auth?.isSuperuser === true)
}

async function findRow(store: StoreSession, collection: CollectionDef, id: string): Promise<Row> {
  const [row] = await store.selectByIds(collection, [id])
  if (!row) throw recordNotFound(collection, id)
  return row
}

/** Whether a create can meet a unique conflict other than on its id. */
function hasUniqueConstraint(collection: CollectionDef): boolean {
  return (
    collection.type === 'auth' ||
    collection.indexes.some((index) => index.unique) ||
    collection.fields.some((field) => (field as { unique?: boolean }).unique === true)
  )
}
