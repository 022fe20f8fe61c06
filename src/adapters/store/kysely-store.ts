import { CompiledQuery, sql } from 'kysely'
import { EngineError } from '../../core/errors/index.js'
import { isMultiValued } from '../../core/schema/field-info.js'
import type { CollectionDef, FieldDef } from '../../core/schema/types.js'
import { migrateCollectionTable } from './collection-ddl.js'
import { knownSystemMigrations } from './migrations/system-migrations.js'
import { KyselyAuthStore } from './kysely-auth-store.js'
import { KyselyFileManifest } from './kysely-file-manifest.js'
import { KyselyIdempotencyLedger } from './kysely-idempotency-ledger.js'
import { KyselyAuditStore } from './kysely-audit-store.js'
import { KyselyAdminSettingsStore } from './kysely-admin-settings-store.js'
import { KyselyConsentStore } from './kysely-consent-store.js'
import { KyselyPaymentsStore } from './kysely-payments-store.js'
import type { ColumnType, DialectAdapter } from './dialect-adapter.js'
import { KyselyJobStore } from './kysely-job-store.js'
import { KyselyWebhookStore } from './kysely-webhook-store.js'
import type { JobStore, WebhookStore } from './store-jobs.js'
import {
  appendChanges,
  findTicket,
  numberPendingChanges,
  insertTicket,
  outboxBounds,
  pruneChanges,
  readChanges,
  takeTicket,
} from './outbox-sql.js'
import { recordCodec } from './record-codec.js'
import { fixedSql } from './fixed-sql.js'
import { insertOne, insertOneWithChange, selectSessionCaller, updateOne } from './record-lookups.js'
import { selectRecordPage, selectRecordsById, type PageReader } from './record-pages.js'
import { RECORD_ALIAS, whereClause } from './record-sql.js'
import type {
  AppliedMigration,
  ChangeEvent,
  ChangeInput,
  Condition,
  Dialect,
  OutboxBounds,
  Row,
  SelectQuery,
  SelectResult,
  SessionRow,
  AuthStore,
  Store,
  StoreSession,
  FileManifest,
  IdempotencyLedger,
  AuditStore,
  AdminSettingsStore,
  ConsentStore,
  PaymentsStore,
} from './store.js'
import type { DynamicDb } from './dynamic-db.js'

/** The column tagging each snapshot row; not a valid field name, so it cannot collide. */
const SNAPSHOT_INDEX = 'er:snapshot'
/** Bound values per snapshot statement, well under SQLite's and PostgreSQL's limits. */
const MAX_BOUND_VALUES = 10_000

/** Runs a compiled read (SQL text and bound values) and returns its rows. */
export type ReadRows = (text: string, parameters: readonly unknown[]) => Promise<Row[]>

/** A read run at once, or undefined when it must go through Kysely (see `KyselyStore`). */
export type DirectRead = (text: string, parameters: readonly unknown[]) => Row[] | undefined

/** Runs a compiled write and returns how many rows it changed. */
export type RunWrite = (text: string, parameters: readonly unknown[]) => Promise<number>

/** Statements run on a pooled connection of their own, skipping Kysely's executor. */
export interface PooledStatements {
  read: ReadRows
  write: RunWrite
}

/**
 * Statements run at once on the connection a transaction holds (SQLite: better-sqlite3 is
 * synchronous, and while Kysely holds the connection for the transaction nothing else can use
 * it), skipping Kysely's executor for each statement of the transaction.
 */
export interface HeldConnection {
  read(text: string, parameters: readonly unknown[]): Row[]
  write(text: string, parameters: readonly unknown[]): number
}

/** The store on Kysely, for either dialect: the adapter supplies what differs. */
export class KyselySession implements StoreSession {
  readonly dialect: Dialect
  protected readonly db: DynamicDb
  protected readonly adapter: DialectAdapter
  readonly auth: AuthStore
  readonly files: FileManifest
  readonly idempotency: IdempotencyLedger
  readonly payments: PaymentsStore
  readonly jobs: JobStore
  readonly webhooks: WebhookStore
  readonly audit: AuditStore
  readonly adminSettings: AdminSettingsStore
  readonly consents: ConsentStore

  constructor(db: DynamicDb, adapter: DialectAdapter) {
    this.db = db
    this.adapter = adapter
    this.dialect = adapter.dialect
    this.auth = new KyselyAuthStore(db, () => this.callersChanged())
    this.files = new KyselyFileManifest(db, adapter.dialect, (text, parameters) =>
      this.readRows(text, parameters),
    )
    this.idempotency = new KyselyIdempotencyLedger(db)
    this.payments = new KyselyPaymentsStore(db)
    this.jobs = new KyselyJobStore(db, adapter.dialect)
    this.webhooks = new KyselyWebhookStore(db)
    this.audit = new KyselyAuditStore(db)
    this.adminSettings = new KyselyAdminSettingsStore(db)
    this.consents = new KyselyConsentStore(db)
  }

  /**
   * Told after a write that can change a caller's identity (see `Store.callerGeneration`): the
   * store moves the generation at once, a transaction when it commits.
   */
  protected callersChanged(): void {}

  /**
   * Told after a statement changed records of `collection`: the store tells its listeners at
   * once, a transaction when it commits (see `Store.onRecordsWritten`).
   */
  protected recordsWritten(_collection: string): void {}

  /** Runs a compiled read; the store overrides it with a direct path where it has one. */
  protected readRows: ReadRows = async (text, parameters) =>
    (await this.db.executeQuery<Row>(CompiledQuery.raw(text, [...parameters]))).rows

  /** Runs a compiled write; a transaction on a held connection overrides it. */
  protected runWrite: RunWrite = async (text, parameters) =>
    Number(
      (await this.db.executeQuery(CompiledQuery.raw(text, [...parameters]))).numAffectedRows ?? 0,
    )

  async listCollections(): Promise<CollectionDef[]> {
    const rows = await this.db
      .selectFrom('_collections')
      .select('definition')
      .orderBy('created')
      .orderBy('name')
      .execute()
    return rows.map((r) => JSON.parse(r.definition as string) as CollectionDef)
  }

  async insertCollection(def: CollectionDef): Promise<void> {
    await this.#write(undefined, () =>
      this.db
        .insertInto('_collections')
        .values({
          id: def.id,
          name: def.name,
          definition: JSON.stringify(def),
          created: def.created,
          updated: def.updated,
        })
        .execute(),
    )
  }

  async updateCollection(def: CollectionDef): Promise<void> {
    await this.db
      .updateTable('_collections')
      .set({ name: def.name, definition: JSON.stringify(def), updated: def.updated })
      .where('id', '=', def.id)
      .execute()
    // A caller's identity holds its collection's definition.
    this.callersChanged()
  }

  async deleteCollection(id: string): Promise<void> {
    await this.db.deleteFrom('_collections').where('id', '=', id).execute()
    this.callersChanged()
  }

  async migrateCollectionTable(
    from: CollectionDef | null,
    to: CollectionDef | null,
  ): Promise<void> {
    await this.#write(to ?? from ?? undefined, () =>
      migrateCollectionTable(this.db, this.adapter, from, to),
    )
  }

  async appliedMigrations(): Promise<string[]> {
    const rows = await this.db.selectFrom('_migrations').select('name').orderBy('name').execute()
    return rows.map((r) => r.name as string)
  }

  async recordMigration(name: string, appliedAt: string, content: string): Promise<void> {
    await this.db.insertInto('_migrations').values({ name, applied: appliedAt, content }).execute()
  }

  async migrationHistory(): Promise<AppliedMigration[]> {
    const rows = await this.db
      .selectFrom('_migrations')
      .select(['name', 'applied', 'content'])
      .orderBy('name')
      .execute()
    return rows.map((r) => ({
      name: r.name as string,
      applied: r.applied as string,
      content: (r.content as string | null) ?? null,
    }))
  }

  async fillMigrationContent(name: string, content: string): Promise<boolean> {
    const result = await this.db
      .updateTable('_migrations')
      .set({ content })
      .where('name', '=', name)
      .where('content', 'is', null)
      .executeTakeFirst()
    return Number(result.numUpdatedRows) > 0
  }

  selectRecords(query: SelectQuery): Promise<SelectResult> {
    return this.#read(query.collection, () => selectRecordPage(this.#pageReader(), query))
  }

  /** What record-pages.ts reads with: `readRows` as this session has it now. */
  #pageReader(): PageReader {
    return { db: this.db, adapter: this.adapter, read: this.readRows }
  }

  async countRecords(collection: CollectionDef, where: Condition[]): Promise<number> {
    const result = await this.#read(collection, () =>
      sql<{ n: number | string }>`select count(*) as n
      from ${sql.table(collection.name)} as ${sql.id(RECORD_ALIAS)}
      where ${whereClause(this.adapter, where)}`.execute(this.db),
    )
    // PostgreSQL's count is a bigint, which pg returns as a string.
    return Number(result.rows[0]?.n ?? 0)
  }

  selectByIds(
    collection: CollectionDef,
    ids: readonly string[],
    where: readonly Condition[] = [],
  ): Promise<Row[]> {
    return this.#read(collection, () =>
      selectRecordsById(this.#pageReader(), collection, ids, where),
    )
  }

  selectSessionCaller(
    collection: CollectionDef,
    recordId: string,
    sessionId: string,
  ): Promise<{ row: Row; session: SessionRow } | undefined> {
    return this.#read(collection, () =>
      selectSessionCaller(this.db, this.adapter, collection, recordId, sessionId, this.readRows),
    )
  }

  async selectByColumn(
    collection: CollectionDef,
    column: string,
    value: string,
    limit: number,
  ): Promise<Row[]> {
    const rows = await this.#read(collection, () =>
      this.db
        .selectFrom(collection.name)
        .selectAll()
        .where(column, '=', value)
        .limit(limit)
        .execute(),
    )
    const codec = recordCodec(collection, this.adapter)
    return rows.map((row) => codec.decode(row as Row))
  }

  async selectReferencing(
    collection: CollectionDef,
    field: FieldDef,
    ids: readonly string[],
    where: readonly Condition[] = [],
    limit?: number,
  ): Promise<Row[]> {
    if (ids.length === 0) return []
    const column = sql.ref(`${RECORD_ALIAS}.${field.name}`)
    // One bound list, whatever the number of ids (expansion can ask for thousands).
    const match = isMultiValued(field)
      ? this.adapter.jsonArrayOverlaps(column, ids)
      : this.adapter.inList(column, this.adapter.listParameter(ids))
    const result = await this.#read(collection, () =>
      sql<Row>`select * from ${sql.table(collection.name)} as ${sql.id(RECORD_ALIAS)}
      where ${match} and ${whereClause(this.adapter, where)} order by ${sql.ref(`${RECORD_ALIAS}.id`)}
      ${limit === undefined ? sql`` : sql`limit ${limit}`}`.execute(this.db),
    )
    const codec = recordCodec(collection, this.adapter)
    return result.rows.map((row) => codec.decode(row))
  }

  async snapshotsMatching(
    collection: CollectionDef,
    snapshots: readonly Row[],
    where: readonly Condition[],
  ): Promise<Set<number>> {
    const out = new Set<number>()
    if (where.length === 0) {
      snapshots.forEach((_, i) => out.add(i))
      return out
    }
    const codec = recordCodec(collection, this.adapter)
    const { text, bool } = this.adapter.systemColumnTypes
    const system = (definition: string): ColumnType => {
      const [type, collate] = definition.split(/ (?=collate)/) as [string, string?]
      return collate ? { type, collate } : { type }
    }
    const columns: [string, ColumnType][] = [
      ['id', system(text)],
      ['created', system(text)],
      ['updated', system(text)],
      ...(collection.type === 'auth'
        ? ([
            ['email', system(text)],
            ['verified', system(bool)],
          ] as [string, ColumnType][])
        : []),
      ...collection.fields.map((f): [string, ColumnType] => [f.name, this.adapter.columnType(f)]),
    ]
    // Rows shaped like the table, from bound values, tagged with their index: every condition
    // compiles against them unchanged, and one statement judges a whole chunk. Casts give
    // PostgreSQL the column types it would otherwise have to guess; a cast names the type
    // alone (`not null default …` there is a syntax error), the collation follows it.
    const rowSql = (snapshot: Row, index: number) => {
      const encoded = codec.encode(snapshot)
      const select = columns.map(([name, { type, collate }]) => {
        const value = sql`cast(${encoded[name] ?? null} as ${sql.raw(type)})`
        return sql`${collate ? sql`${value} ${sql.raw(collate)}` : value} as ${sql.id(name)}`
      })
      return sql`select cast(${index} as integer) as ${sql.id(SNAPSHOT_INDEX)}, ${sql.join(select)}`
    }
    const perStatement = Math.max(1, Math.floor(MAX_BOUND_VALUES / (columns.length + 1)))
    for (let start = 0; start < snapshots.length; start += perStatement) {
      const chunk = snapshots.slice(start, start + perStatement)
      const rows = sql.join(
        chunk.map((snapshot, i) => rowSql(snapshot, start + i)),
        sql` union all `,
      )
      const result = await this.#read(collection, () =>
        sql<
          Record<string, unknown>
        >`select ${sql.id(RECORD_ALIAS, SNAPSHOT_INDEX)} as i from (${rows}) as ${sql.id(RECORD_ALIAS)}
        where ${whereClause(this.adapter, where)}`.execute(this.db),
      )
      for (const row of result.rows) out.add(Number(row.i))
    }
    return out
  }

  async insertRecord(collection: CollectionDef, values: Row): Promise<Row | undefined> {
    const encoded = recordCodec(collection, this.adapter).encode(values)
    const stored = await this.#write(collection, () =>
      insertOne(this.db, this.adapter, collection, encoded, this.runWrite, this.readRows),
    )
    this.recordsWritten(collection.name)
    return stored
  }

  async insertRecords(collection: CollectionDef, rows: readonly Row[]): Promise<void> {
    if (rows.length === 0) return
    const codec = recordCodec(collection, this.adapter)
    const encoded = rows.map((row) => codec.encode(row))
    // Stay under the bound-parameter limit of both databases (SQLite 32766, PostgreSQL 65535).
    const perStatement = Math.max(1, Math.floor(30_000 / Object.keys(encoded[0] as Row).length))
    for (let start = 0; start < encoded.length; start += perStatement) {
      const chunk = encoded.slice(start, start + perStatement)
      await this.#write(collection, () =>
        this.db.insertInto(collection.name).values(chunk).execute(),
      )
    }
    this.recordsWritten(collection.name)
  }

  async updateRecord(collection: CollectionDef, id: string, values: Row): Promise<number> {
    const encoded = recordCodec(collection, this.adapter).encode(values)
    const changed = await this.#write(collection, () =>
      updateOne(this.db, this.adapter, collection, id, encoded, this.runWrite),
    )
    if (collection.type === 'auth') this.callersChanged()
    if (changed > 0) this.recordsWritten(collection.name)
    return changed
  }

  async deleteRecord(collection: CollectionDef, id: string): Promise<number> {
    const result = await this.#write(collection, () =>
      this.db.deleteFrom(collection.name).where('id', '=', id).executeTakeFirst(),
    )
    if (collection.type === 'auth') this.callersChanged()
    if (Number(result.numDeletedRows) > 0) this.recordsWritten(collection.name)
    return Number(result.numDeletedRows)
  }

  recordChange(_change: ChangeInput): void {
    // An event written apart from its change could outlive a rolled-back write, or be lost.
    throw new Error('recordChange belongs inside store.transaction, with the write it reports')
  }

  readChanges(afterId: number, limit: number): Promise<ChangeEvent[]> {
    return readChanges(this.db, this.dialect, afterId, limit, this.readRows)
  }

  outboxBounds(): Promise<OutboxBounds> {
    return outboxBounds(this.db)
  }

  pruneChanges(retention: {
    events?: number
    before?: string
    keepAfter?: number
  }): Promise<number> {
    return pruneChanges(this.db, retention)
  }

  insertTicket(id: string, token: string, expires: string): Promise<void> {
    return insertTicket(this.db, id, token, expires)
  }

  takeTicket(id: string, now: string): Promise<string | undefined> {
    return takeTicket(this.db, id, now)
  }

  findTicket(id: string, now: string): Promise<string | undefined> {
    return findTicket(this.db, id, now)
  }

  async lockKey(key: string): Promise<void> {
    if (this.dialect !== 'postgres') return
    // Paired with the schema, as the engine's other advisory locks: deployments (and test runs)
    // in other schemas of the same server never wait on it.
    await sql`select pg_advisory_xact_lock(hashtextextended(current_schema() || ':' || ${key}, 0))`.execute(
      this.db,
    )
  }

  async getSetting(key: string): Promise<string | undefined> {
    const text = fixedSql(
      this.db,
      this.dialect,
      'get-setting',
      () =>
        sql`select ${sql.ref('value')} from ${sql.table('_settings')} where ${sql.ref('key')} = ${''}`,
    )
    const [row] = await this.readRows(text, [key])
    return row?.value as string | undefined
  }

  async setSetting(key: string, value: string): Promise<void> {
    const text = fixedSql(
      this.db,
      this.dialect,
      'set-setting',
      () =>
        sql`insert into ${sql.table('_settings')} (${sql.ref('key')}, ${sql.ref('value')})
        values (${''}, ${''})
        on conflict (${sql.ref('key')}) do update set ${sql.ref('value')} = excluded.${sql.ref('value')}`,
    )
    await this.runWrite(text, [key, value])
  }

  async initSetting(key: string, value: string): Promise<string> {
    await this.db
      .insertInto('_settings')
      .values({ key, value })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute()
    return (await this.getSetting(key)) ?? value
  }

  /**
   * Runs a read of a collection's table and turns driver errors into engine errors: a read built
   * from a stale definition (a column another node dropped) becomes ER_SCHEMA_CHANGED.
   */
  async #read<T>(collection: CollectionDef, run: () => Promise<T>): Promise<T> {
    try {
      return await run()
    } catch (error) {
      throw this.adapter.translateError(error, collection) ?? error
    }
  }

  /** Runs a write and turns driver errors into engine errors naming the collection and field. */
  async #write<T>(collection: CollectionDef | undefined, run: () => Promise<T>): Promise<T> {
    try {
      return await run()
    } catch (error) {
      throw this.adapter.translateError(error, collection) ?? error
    }
  }
}

export class KyselyStore extends KyselySession implements Store {
  readonly #onClose: () => Promise<void>
  #callerGeneration = 0

  get callerGeneration(): number {
    return this.#callerGeneration
  }

  protected override callersChanged(): void {
    this.#callerGeneration++
  }

  readonly #writeListeners = new Set<(collections: readonly string[]) => void>()

  onRecordsWritten(listener: (collections: readonly string[]) => void): () => void {
    this.#writeListeners.add(listener)
    return () => void this.#writeListeners.delete(listener)
  }

  protected override recordsWritten(collection: string): void {
    this.#tellWritten([collection])
  }

  /** After the commit: told earlier, a reader could cache the old rows under the new version. */
  #tellWritten(collections: readonly string[]): void {
    if (collections.length === 0) return
    for (const listener of this.#writeListeners) listener(collections)
  }

  /**
   * `directRead`: runs a read on the connection at once when nothing stands in its way (SQLite
   * with no transaction open), skipping Kysely's executor and its connection lock; undefined
   * sends the read through Kysely.
   */
  readonly #held: HeldConnection | undefined

  constructor(
    db: DynamicDb,
    adapter: DialectAdapter,
    onClose: () => Promise<void> = async () => {},
    direct?: { read: DirectRead; held: HeldConnection } | { pooled: PooledStatements },
  ) {
    super(db, adapter)
    this.#onClose = onClose
    if (direct && 'pooled' in direct) {
      // PostgreSQL: statements outside a transaction go straight to the pool (a transaction's
      // session keeps Kysely's, which holds its connection).
      this.readRows = direct.pooled.read
      this.runWrite = direct.pooled.write
      return
    }
    this.#held = direct?.held
    const directRead = direct?.read
    if (directRead) {
      const throughKysely = this.readRows
      this.readRows = (text, parameters) => {
        const rows = directRead(text, parameters)
        return rows ? Promise.resolve(rows) : throughKysely(text, parameters)
      }
    }
  }

  async insertRecordAlone(
    collection: CollectionDef,
    values: Row,
    change: (stored: Row) => ChangeInput,
  ): Promise<Row> {
    if (!this.adapter.numbersPendingChanges) {
      return this.transaction(async (tx) => {
        const stored =
          (await tx.insertRecord(collection, values)) ??
          (await tx.selectByIds(collection, [values.id as string]))[0]
        if (!stored) throw new Error(`the record inserted into "${collection.name}" is not there`)
        tx.recordChange(change(stored))
        return stored
      })
    }
    const codec = recordCodec(collection, this.adapter)
    const encoded = codec.encode(values)
    const event = change(codec.stored(encoded))
    await this.#writing(collection, () =>
      insertOneWithChange(
        this.db,
        this.adapter,
        collection,
        encoded,
        [
          event.collection,
          event.recordId,
          event.action,
          JSON.stringify(event.record),
          new Date().toISOString(),
          event.actor ? JSON.stringify(event.actor) : null,
        ],
        this.runWrite,
      ),
    )
    this.#tellWritten([collection.name])
    return codec.stored(encoded)
  }

  /** Runs a write and turns driver errors into engine errors naming the collection and field. */
  async #writing<T>(collection: CollectionDef, run: () => Promise<T>): Promise<T> {
    try {
      return await run()
    } catch (error) {
      throw this.adapter.translateError(error, collection) ?? error
    }
  }

  /** Outside any transaction, the outbox is read after what is pending has been numbered. */
  override async readChanges(afterId: number, limit: number): Promise<ChangeEvent[]> {
    await this.#numberPending()
    return super.readChanges(afterId, limit)
  }

  override async outboxBounds(): Promise<OutboxBounds> {
    await this.#numberPending()
    return super.outboxBounds()
  }

  /**
   * PostgreSQL: numbers the committed events still pending (see `appendChanges`), in its own
   * transaction, before the outbox is read; inside a transaction the outbox is read as it is.
   */
  async #numberPending(): Promise<void> {
    if (this.adapter.numbersPendingChanges) await numberPendingChanges(this.db, this.readRows)
  }

  transaction<T>(work: (tx: StoreSession) => Promise<T>): Promise<T> {
    return this.#transaction(work, false)
  }

  schemaTransaction<T>(work: (tx: StoreSession) => Promise<T>): Promise<T> {
    return this.#transaction(work, true)
  }

  async exclusiveTransaction<T>(
    _lock: 'dispatcher',
    work: (tx: StoreSession) => Promise<T>,
  ): Promise<T | undefined> {
    let session: TransactionSession | undefined
    // The dispatcher reads the outbox inside its transaction: what is pending is numbered (and
    // committed) first.
    await this.#numberPending()
    const result = await this.db.transaction().execute(async (trx) => {
      if (!(await this.adapter.tryLockDispatcher(trx))) return undefined
      session = new TransactionSession(trx, this.adapter, this.#held)
      return work(session)
    })
    // After the commit: moved earlier, a request could read the old rows and cache them under
    // the new generation.
    if (session?.changedCallers) this.#callerGeneration++
    if (session) this.#tellWritten([...session.written])
    return result
  }

  async #transaction<T>(work: (tx: StoreSession) => Promise<T>, lockSchema: boolean): Promise<T> {
    // Another process holding SQLite's write lock past busy_timeout: the whole transaction is
    // retried (nothing of it was applied), a bounded number of times, then it is a 503.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#transactionOnce(work, lockSchema)
      } catch (error) {
        if (attempt >= 3 || !(error instanceof EngineError) || error.code !== 'ER_UNAVAILABLE') {
          throw error
        }
      }
    }
  }

  async #transactionOnce<T>(
    work: (tx: StoreSession) => Promise<T>,
    lockSchema: boolean,
  ): Promise<T> {
    let session: TransactionSession | undefined
    try {
      const result = await this.db.transaction().execute(async (trx) => {
        if (lockSchema) await this.adapter.lockSchema(trx)
        const tx = new TransactionSession(trx, this.adapter, this.#held)
        session = tx
        const result = await work(tx)
        // Last, after all the work: on SQLite the ids are allocated here, and the write lock
        // is held from the first write anyway; on PostgreSQL they wait, unnumbered, for a reader.
        await appendChanges(trx, this.adapter, tx.changes, new Date().toISOString(), tx.write)
        return result
      })
      // After the commit, as in exclusiveTransaction.
      if (session?.changedCallers) this.#callerGeneration++
      if (session) this.#tellWritten([...session.written])
      return result
    } catch (error) {
      throw this.adapter.translateError(error, undefined) ?? error
    }
  }

  introspect() {
    return this.adapter.introspect(this.db)
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db)
  }

  async missingSystemMigrations(): Promise<string[]> {
    const rows = await this.db.selectFrom('_system_migrations').select('name').execute()
    const applied = new Set(rows.map((r) => r.name as string))
    return knownSystemMigrations().filter((name) => !applied.has(name))
  }

  async close(): Promise<void> {
    await this.db.destroy()
    await this.#onClose()
  }
}

/** A session inside a transaction; nested `transaction` calls simply join it. */
class TransactionSession extends KyselySession {
  /** Change events waiting for the commit. */
  readonly changes: ChangeInput[] = []
  /** Whether the commit changes a caller (the store moves its generation then). */
  changedCallers = false
  /** Collections whose records this transaction changed (told to listeners on commit). */
  readonly written = new Set<string>()

  constructor(db: DynamicDb, adapter: DialectAdapter, held: HeldConnection | undefined) {
    super(db, adapter)
    if (held) {
      this.readRows = async (text, parameters) => held.read(text, parameters)
      this.runWrite = async (text, parameters) => held.write(text, parameters)
    }
  }

  /** This transaction's way to run a compiled write (for the outbox rows). */
  get write(): RunWrite {
    return this.runWrite
  }

  protected override callersChanged(): void {
    this.changedCallers = true
  }

  protected override recordsWritten(collection: string): void {
    this.written.add(collection)
  }

  override recordChange(change: ChangeInput): void {
    this.changes.push(change)
  }

  transaction<T>(work: (tx: StoreSession) => Promise<T>): Promise<T> {
    return work(this)
  }
}
