/**
 * The store port: everything the services ask of a database. One implementation on Kysely
 * (`kysely-store.ts`) serves both dialects; what differs (connection, DDL, error codes, value
 * encoding) lives in `sqlite/` and `postgres/`, file for file.
 */
import type { CheckedExpr } from '../../core/filter/check.js'
import type { CollectionDef, FieldDef } from '../../core/schema/types.js'
import type { FilterValues } from './compile-filter-values.js'
import type { TableShape } from './introspect.js'
import type { JobStore, WebhookStore } from './store-jobs.js'

export type * from './store-jobs.js'

export type Dialect = 'sqlite' | 'postgres'

/** A record as stored: system and user fields with JS values (booleans, arrays, parsed JSON). */
export type Row = Record<string, unknown>

/** One condition of a query: a checked filter or rule with the request's macro values. */
export interface Condition {
  expr: CheckedExpr
  values: FilterValues
}

/** A sort key: a field of the collection, or one field of a single relation (`author.name`). */
export interface SortTerm {
  path: { field: string } | { relation: string; target: CollectionDef; field: string }
  desc: boolean
}

export interface SelectQuery {
  collection: CollectionDef
  where: Condition[]
  /** Ends with `id` so the order is total; the service appends it. */
  sort: readonly SortTerm[]
  limit: number
  offset?: number
  /** Keyset pagination: the sort values of the last row already seen, in `sort` order. */
  after?: unknown[]
}

/** The rows of a page plus each row's sort values, from which the service makes a cursor. */
export interface SelectResult {
  rows: Row[]
  sortValues: unknown[][]
}

export type ChangeAction = 'create' | 'update' | 'delete'

/** A record change as the records service reports it: the snapshot after (before, for delete). */
export interface ChangeInput {
  collection: string
  recordId: string
  action: ChangeAction
  /** The record as stored, secrets removed, hidden fields kept (removed per reader later). */
  record: Row
  /** Who made the change (absent: the engine itself, or a write from before this was kept). */
  actor?: ChangeActor
}

/** The caller behind a change, as an outbox consumer (an extension's after hook) needs it. */
export interface ChangeActor {
  collectionId: string
  recordId: string
  /** The API key used, with the scopes that narrowed the caller at the time. */
  apiKey?: { id: string; scopes: ApiKeyScope[] }
}

/** One applied schema change as `_migrations` keeps it. */
export interface AppliedMigration {
  name: string
  applied: string
  /** The migration file's JSON; null when applied before contents were kept and not filled. */
  content: string | null
}

/** A committed change from the outbox; `id` grows by one per event, in commit order. */
export interface ChangeEvent extends ChangeInput {
  id: number
  created: string
}

/** The oldest and newest event ids kept in the outbox (0 and 0 when it is empty). */
export interface OutboxBounds {
  first: number
  last: number
}

/** What services may do, inside or outside a transaction. */
export interface StoreSession {
  readonly dialect: Dialect

  listCollections(): Promise<CollectionDef[]>
  insertCollection(def: CollectionDef): Promise<void>
  updateCollection(def: CollectionDef): Promise<void>
  deleteCollection(id: string): Promise<void>
  /** Creates, alters or drops the collection's table (and indexes) so it matches `to`. */
  migrateCollectionTable(from: CollectionDef | null, to: CollectionDef | null): Promise<void>

  /** Names of the applied schema migrations, in order (their names start with a timestamp). */
  appliedMigrations(): Promise<string[]>
  /** Records an applied migration with its content (the JSON of its migration file). */
  recordMigration(name: string, appliedAt: string, content: string): Promise<void>
  /** The schema history kept in the database, oldest first: what every node sees alike. */
  migrationHistory(): Promise<AppliedMigration[]>
  /** Fills in the content of a migration recorded without one (applied before it was kept). */
  fillMigrationContent(name: string, content: string): Promise<boolean>

  selectRecords(query: SelectQuery): Promise<SelectResult>
  countRecords(collection: CollectionDef, where: Condition[]): Promise<number>
  /** Records with these ids that also meet every condition (an access rule, say). */
  selectByIds(
    collection: CollectionDef,
    ids: readonly string[],
    where?: readonly Condition[],
  ): Promise<Row[]>
  /**
   * The auth record `recordId` of `collection` and its session `sessionId`, read together (one
   * statement); undefined when either is missing or the session belongs to another record.
   */
  selectSessionCaller(
    collection: CollectionDef,
    recordId: string,
    sessionId: string,
  ): Promise<{ row: Row; session: SessionRow } | undefined>
  /** Records whose `column` (a field or system field of the schema) equals `value`. */
  selectByColumn(
    collection: CollectionDef,
    column: string,
    value: string,
    limit: number,
  ): Promise<Row[]>
  /** Records of `collection` whose relation `field` points at any of `ids`, by id, at most `limit`. */
  selectReferencing(
    collection: CollectionDef,
    field: FieldDef,
    ids: readonly string[],
    where?: readonly Condition[],
    limit?: number,
  ): Promise<Row[]>
  /**
   * Which snapshots (record states as of an event, stored or not) meet the conditions, judged
   * in SQL exactly as stored rows would be: the indexes into `snapshots` that match.
   */
  snapshotsMatching(
    collection: CollectionDef,
    snapshots: readonly Row[],
    where: readonly Condition[],
  ): Promise<Set<number>>
  /**
   * Inserts one record. Returns the row as stored (decoded) where the database hands it back
   * with the insert in the same round trip (PostgreSQL, `returning *`), so a caller need not
   * read it back; undefined where a read-back costs less than returning it (SQLite, in process).
   */
  insertRecord(collection: CollectionDef, values: Row): Promise<Row | undefined>
  /** Inserts many rows with multi-row statements (bulk import); all rows have the same keys. */
  insertRecords(collection: CollectionDef, rows: readonly Row[]): Promise<void>
  /** Returns how many rows changed (0 when the id does not exist). */
  updateRecord(collection: CollectionDef, id: string, values: Row): Promise<number>
  deleteRecord(collection: CollectionDef, id: string): Promise<number>

  /**
   * Adds a change event to the outbox of the transaction this session belongs to; it is
   * written, with its id, just before the transaction commits (outside one: at once).
   */
  recordChange(change: ChangeInput): void
  /** Committed events with `id > afterId`, oldest first. */
  readChanges(afterId: number, limit: number): Promise<ChangeEvent[]>
  outboxBounds(): Promise<OutboxBounds>
  /**
   * Deletes events outside the retention window (never the newest, nor any after `keepAfter`);
   * returns how many.
   */
  pruneChanges(retention: { events?: number; before?: string; keepAfter?: number }): Promise<number>
  /** Stores a one-time realtime ticket standing for a bearer token until `expires`. */
  insertTicket(id: string, token: string, expires: string): Promise<void>
  /** Consumes a ticket: its token if it existed and had not expired, and it is gone after. */
  takeTicket(id: string, now: string): Promise<string | undefined>
  /** A ticket's stored token if it exists and has not expired, leaving it in place. */
  findTicket(id: string, now: string): Promise<string | undefined>

  /**
   * Inside a transaction, waits until no other transaction holds `key`, then holds it until
   * this one ends (PostgreSQL advisory lock; SQLite has one writer at a time already).
   */
  lockKey(key: string): Promise<void>

  getSetting(key: string): Promise<string | undefined>
  setSetting(key: string, value: string): Promise<void>
  /** Stores `value` unless the key is set already; returns whichever value is stored. */
  initSetting(key: string, value: string): Promise<string>

  /** Sessions, refresh tokens, throttle counters and one-time tokens (`_auth_*` tables). */
  readonly auth: AuthStore
  /** The manifest of stored files (`_files`), in this session's transaction. */
  readonly files: FileManifest
  /** Kept answers to requests sent with an `Idempotency-Key` (`_idempotency`). */
  readonly idempotency: IdempotencyLedger
  /** Products, checkouts, applied provider events and the money ledger (`_payment_*`). */
  readonly payments: PaymentsStore
  /** The store queue, its Redis hand-off outbox and cron ticks (`_jobs`, `_schedule*`). */
  readonly jobs: JobStore
  /** Webhook subscriptions and their delivery log. */
  readonly webhooks: WebhookStore
  /** The hash-chained log of privileged actions (`_audit`). */
  readonly audit: AuditStore
  /** Settings made through the admin API (`_admin_settings`): key → JSON value. */
  readonly adminSettings: AdminSettingsStore
  /** Consents given and withdrawn, append-only (`_consents`). */
  readonly consents: ConsentStore
}

/** `_admin_settings`: one row per setting key; its absence means the default applies. */
export interface AdminSettingsStore {
  all(): Promise<Map<string, string>>
  put(key: string, value: string, updated: string): Promise<void>
  remove(key: string): Promise<void>
}

/** One change of a person's consent (`_consents`), numbered per person by `seq`. */
export interface ConsentRow {
  collectionId: string
  recordId: string
  seq: number
  purpose: string
  granted: boolean
  /** ISO 8601, from the engine's clock. */
  at: string
  /** Who recorded it, as the audit log names callers (`users/abc`). */
  actor: string
  ip: string
  userAgent: string
}

/** `_consents`: appended, read per person, and removed only when the person is erased. */
export interface ConsentStore {
  /** The person's newest row, if any (its `seq` numbers the next). */
  last(collectionId: string, recordId: string): Promise<ConsentRow | undefined>
  insert(row: ConsentRow): Promise<void>
  /** The person's rows, oldest first, at most `limit`. */
  history(collectionId: string, recordId: string, limit: number): Promise<ConsentRow[]>
  /** Deletes every row of the person (erasure only); returns how many. */
  forget(collectionId: string, recordId: string): Promise<number>
}

/** One row of `_audit`; `hash` chains it to the row before (see services/audit). */
export interface AuditRow {
  seq: number
  at: string
  actor: string
  action: string
  target: string
  /** Canonical JSON. */
  detail: string
  prevHash: string
  hash: string
}

/** `_audit`: appended inside the transaction of the action it records, never updated. */
export interface AuditStore {
  last(): Promise<AuditRow | undefined>
  insert(row: AuditRow): Promise<void>
  /** Rows with `seq` above `afterSeq`, oldest first. */
  page(afterSeq: number, limit: number): Promise<AuditRow[]>
  /** The newest row written before `at` (ISO 8601), if any. */
  lastBefore(at: string): Promise<AuditRow | undefined>
  /** The newest row with this `action` (the latest prune anchor), if any. */
  lastOfAction(action: string): Promise<AuditRow | undefined>
  /** Deletes the rows up to and including `seq` (audit retention only); returns how many. */
  deleteThrough(seq: number): Promise<number>
}

/** A product of the catalogue. Amounts are in the currency's minor unit (cents). */
export interface ProductRow {
  id: string
  name: string
  description: string
  amount: number
  currency: string
  /** What a paid checkout creates, as JSON (see payments-products.ts). */
  grant: string | null
  active: boolean
  created: string
  updated: string
}

export type CheckoutStatus = 'open' | 'paid' | 'failed' | 'canceled' | 'refunded'

export interface CheckoutRow {
  id: string
  provider: string
  /** The provider's own id of the checkout (a Stripe Checkout Session id). */
  providerRef: string | null
  /** The provider's id of the payment, once paid (what a refund names). */
  providerPayment: string | null
  userCollection: string
  userId: string
  productId: string
  quantity: number
  amount: number
  currency: string
  status: CheckoutStatus
  created: string
  updated: string
}

/** One movement of money: a payment (positive) or a refund (negative). Never changed. */
export interface LedgerRow {
  id: string
  checkoutId: string
  userCollection: string
  userId: string
  productId: string
  kind: 'payment' | 'refund'
  amount: number
  currency: string
  provider: string
  providerEvent: string
  created: string
}

export interface PaymentsStore {
  listProducts(activeOnly: boolean): Promise<ProductRow[]>
  getProduct(id: string): Promise<ProductRow | undefined>
  insertProduct(row: ProductRow): Promise<void>
  updateProduct(row: ProductRow): Promise<void>
  insertCheckout(row: CheckoutRow): Promise<void>
  getCheckout(id: string): Promise<CheckoutRow | undefined>
  setCheckoutRef(id: string, providerRef: string): Promise<void>
  /** Moves a checkout from one of `from` to `to`; false when it was in no state of `from`. */
  moveCheckout(
    id: string,
    from: readonly CheckoutStatus[],
    to: CheckoutStatus,
    at: string,
    providerPayment?: string,
  ): Promise<boolean>
  /** Notes a provider event as applied; false when it was applied before. */
  noteEvent(
    provider: string,
    eventId: string,
    checkoutId: string | null,
    outcome: string,
    at: string,
  ): Promise<boolean>
  appendLedger(row: LedgerRow): Promise<void>
  /** Newest first; one user's entries, or everyone's when `user` is absent. */
  listLedger(
    user: { collection: string; id: string } | undefined,
    limit: number,
    before?: string,
  ): Promise<LedgerRow[]>
}

/** What a request with an `Idempotency-Key` claims before it runs. Times are ISO-8601. */
export interface IdempotencyClaim {
  /** Hex SHA-256 of the caller's scope and the key (the key itself is never stored). */
  keyHash: string
  /** Hex SHA-256 of the method, URL and body: the same key with another request is refused. */
  fingerprint: string
  created: string
  expires: string
}

/** The answer kept for a key, encrypted under a key derived from the client's key. */
export interface KeptResponse {
  /** `done`: the answer is kept; `unkept`: the request ran but its answer was too large to keep. */
  state: 'done' | 'unkept'
  status: number
  contentType: string | null
  location: string | null
  body: string | null
}

export interface IdempotencyRow extends IdempotencyClaim, Omit<KeptResponse, 'state' | 'status'> {
  state: 'pending' | KeptResponse['state']
  status: number | null
}

/** `_idempotency`: one claim per key, pending while its request runs, then its kept answer. */
export interface IdempotencyLedger {
  /**
   * Claims a key: null when this request holds it now, otherwise the row that holds it. A row
   * past `expires`, or pending since before `staleBefore` (its process died), is replaced.
   */
  claim(claim: IdempotencyClaim, staleBefore: string): Promise<IdempotencyRow | null>
  /** Keeps the answer of the pending claim made at `created`. */
  complete(keyHash: string, created: string, response: KeptResponse): Promise<void>
  /** Gives up a pending claim (the request failed in a way worth retrying). */
  release(keyHash: string, created: string): Promise<void>
  /** Deletes rows that expired before `now`; returns how many. */
  sweep(now: string): Promise<number>
}

/** One stored file of a record (see the `_files` migration). Times are ISO-8601. */
export interface FileRow {
  collectionId: string
  recordId: string
  /** The stored name, as the record's field holds it. */
  name: string
  /** The id of the file field (stable across renames). */
  fieldId: string
  size: number
  /** Sniffed from the content when it was uploaded. */
  mime: string
  /** Hex SHA-256 of the content (the ETag). */
  sha256: string
  created: string
  /** Set in the transaction that removed the file; the blob is deleted after commit. */
  deleted: string | null
}

/** The `_files` table: which blobs belong to which record, and which wait for deletion. */
export interface FileManifest {
  insertFiles(rows: readonly FileRow[]): Promise<void>
  /** A live (not deleted) file of a record. */
  getFile(collectionId: string, recordId: string, name: string): Promise<FileRow | undefined>
  /** The live files of a record, oldest first. */
  listRecordFiles(collectionId: string, recordId: string): Promise<FileRow[]>
  /** Marks the named live files (every live file of the record when `names` is absent) deleted. */
  markDeleted(
    collectionId: string,
    recordId: string,
    at: string,
    names?: readonly string[],
  ): Promise<number>
  /** Marks live files whose collection or field is not in `keep` (collection id → field ids) deleted. */
  markDetached(keep: ReadonlyMap<string, ReadonlySet<string>>, at: string): Promise<number>
  /** Files marked deleted, oldest first: their blobs are still to be removed. */
  pendingDeletions(limit: number): Promise<FileRow[]>
  /** Forgets deleted rows once their blobs are gone. */
  forgetDeleted(collectionId: string, recordId: string, name: string): Promise<void>
  /** The names the manifest knows (live or deleted) among `names` of one record. */
  knownNames(collectionId: string, recordId: string, names: readonly string[]): Promise<Set<string>>
}

/** A sign-in: the family of refresh tokens that rotate from it. Times are ISO-8601. */
export interface SessionRow {
  id: string
  collectionId: string
  recordId: string
  /** Fingerprint of the record's tokenKey at sign-in: a password change ends the session. */
  tokenKey: string
  created: string
  lastUsed: string
  expires: string
  revoked: string | null
  userAgent: string
  ip: string
}

export interface RefreshTokenRow {
  hash: string
  sessionId: string
  created: string
  used: string | null
}

export interface ThrottleRow {
  key: string
  failures: number
  lockedUntil: string
  /** When the last failure was counted. */
  updated: string
}

export interface OneTimeTokenRow {
  hash: string
  purpose: string
  collectionId: string
  recordId: string
  /** The address the token was sent to (the new one, for an e-mail change). */
  email: string
  expires: string
  used: string | null
}

/** A record's TOTP enrolment; `enabled` is null until the first code confirms it. */
export interface MfaRow {
  collectionId: string
  recordId: string
  /** Encrypted by the service; the store never sees the clear secret. */
  secret: string
  enabled: string | null
  /** Hashes of the unused recovery codes. */
  recovery: string[]
  /** The last TOTP time step accepted (replay guard). */
  lastStep: number
}

/** One collection and the record operations an API key may perform on it (`*`: every collection). */
export interface ApiKeyScope {
  collection: string
  operations: ('list' | 'view' | 'create' | 'update' | 'delete')[]
}

export interface ApiKeyRow {
  id: string
  hash: string
  collectionId: string
  recordId: string
  name: string
  scopes: ApiKeyScope[]
  created: string
  expires: string
  revoked: string | null
}

/** A pending OAuth2 authorization request, keyed by the SHA-256 of its `state`. */
export interface OAuthStateRow {
  hash: string
  collectionId: string
  provider: string
  /** The PKCE code verifier (RFC 7636 §4.1); it never leaves the server. */
  verifier: string
  nonce: string
  /** SHA-256 of the browser-binding cookie set when the flow started. */
  binderHash: string
  /** Where to send the browser after sign-in ('' for a JSON answer). */
  redirect: string
  expires: string
}

/** A provider's subject linked to a record of an auth collection. */
export interface OAuthLinkRow {
  collectionId: string
  provider: string
  subject: string
  recordId: string
  created: string
}

/** The store's authentication tables. Every secret arrives here already hashed. */
export interface AuthStore {
  insertSession(row: SessionRow): Promise<void>
  getSession(id: string): Promise<SessionRow | undefined>
  /** The sessions of one record, newest first, at most `limit`. */
  listSessions(collectionId: string, recordId: string, limit: number): Promise<SessionRow[]>
  touchSession(id: string, lastUsed: string): Promise<void>
  /** Revokes the given session, or every live one of the record; returns the ids revoked. */
  revokeSessions(
    target: { id: string } | { collectionId: string; recordId: string },
    at: string,
  ): Promise<string[]>
  insertRefreshToken(row: RefreshTokenRow): Promise<void>
  getRefreshToken(hash: string): Promise<RefreshTokenRow | undefined>
  /** Marks an unused token used; false when it was used already (a concurrent or replayed use). */
  markRefreshTokenUsed(hash: string, at: string): Promise<boolean>

  getThrottle(keys: readonly string[]): Promise<ThrottleRow[]>
  /** Adds one failure to `key` (creating it) and returns the new count. */
  addThrottleFailure(key: string, at: string): Promise<number>
  /** Takes one counted attempt back (it turned out right). */
  removeThrottleFailure(key: string): Promise<void>
  setThrottleLock(key: string, lockedUntil: string): Promise<void>
  clearThrottle(key: string): Promise<void>
  /**
   * Atomically takes `key` until `until` if it is free at `now`; false when another caller holds
   * it. (One mail a minute: concurrent requests on any node get exactly one true.)
   */
  claimThrottleSlot(key: string, now: string, until: string): Promise<boolean>
  /**
   * Atomically moves an expired lockout of `key` to `until`: true for exactly one caller per
   * expiry, false when the key was never locked or is still locked.
   */
  claimExpiredLock(key: string, now: string, until: string): Promise<boolean>

  insertOneTimeToken(row: OneTimeTokenRow): Promise<void>
  /** Marks the token used if it exists, has this purpose, is unused and unexpired; returns it. */
  consumeOneTimeToken(
    hash: string,
    purpose: string,
    now: string,
  ): Promise<OneTimeTokenRow | undefined>
  /** The token if it exists, has this purpose, is unused and unexpired; it stays unused. */
  findOneTimeToken(hash: string, purpose: string, now: string): Promise<OneTimeTokenRow | undefined>

  getMfa(collectionId: string, recordId: string): Promise<MfaRow | undefined>
  /** Creates or replaces the record's enrolment. */
  putMfa(row: MfaRow): Promise<void>
  deleteMfa(collectionId: string, recordId: string): Promise<void>
  /**
   * Records a TOTP step as used, only if it is newer than the last one; false means the code
   * (or an older one) was already accepted.
   */
  advanceMfaStep(collectionId: string, recordId: string, step: number): Promise<boolean>
  /** Removes one recovery code hash; false if it was not there (already used, or a race). */
  useRecoveryCode(collectionId: string, recordId: string, hash: string): Promise<boolean>
  insertApiKey(row: ApiKeyRow): Promise<void>
  getApiKeyByHash(hash: string): Promise<ApiKeyRow | undefined>
  listApiKeys(collectionId: string, recordId: string, limit: number): Promise<ApiKeyRow[]>
  /** Revokes the owner's key `id`; false when there is no such live key of that owner. */
  revokeApiKey(id: string, collectionId: string, recordId: string, at: string): Promise<boolean>
  /** Revokes every live API key of a record (its password changed); returns how many. */
  revokeRecordApiKeys(collectionId: string, recordId: string, at: string): Promise<number>
  /** Stores a pending authorization request, and drops expired ones. */
  insertOAuthState(row: OAuthStateRow, now: string): Promise<void>
  /** Deletes and returns the unexpired request with this hash: each state is spent once. */
  takeOAuthState(hash: string, now: string): Promise<OAuthStateRow | undefined>
  findOAuthLink(
    collectionId: string,
    provider: string,
    subject: string,
  ): Promise<OAuthLinkRow | undefined>
  /** Links a subject to a record, replacing a link to a record since deleted. */
  putOAuthLink(row: OAuthLinkRow): Promise<void>
  /** Removes every provider link of a record (its owner was proved by another sign-in). */
  deleteOAuthLinks(collectionId: string, recordId: string): Promise<void>
  /**
   * Removes everything the auth tables hold about a record (sessions with their refresh
   * tokens, one-time tokens, TOTP, API keys, provider links): its erasure. Returns the rows gone.
   */
  forgetRecord(collectionId: string, recordId: string): Promise<number>
  /**
   * Deletes what can no longer be used: sessions past their expiry or revoked before
   * `revokedBefore` (with their refresh tokens), expired one-time tokens, and throttle counters
   * unlocked and quiet since `quietBefore`. Times are ISO-8601.
   */
  purgeExpired(cutoff: { now: string; revokedBefore: string; quietBefore: string }): Promise<{
    sessions: number
    refreshTokens: number
    oneTimeTokens: number
    throttle: number
  }>
  /** Invalidates a record's unused tokens of one purpose (a new request replaces older links). */
  expireOneTimeTokens(
    collectionId: string,
    recordId: string,
    purpose: string,
    at: string,
  ): Promise<void>
}

/** One SQL statement as the driver ran it, for metrics and tracing (never its parameters). */
export interface QueryEvent {
  sql: string
  durationMs: number
  failed: boolean
}

/** Called after every statement; must be cheap and must not throw. */
export type QueryObserver = (event: QueryEvent) => void

export interface Store extends StoreSession {
  /**
   * Runs `work` in one transaction: all of it commits or none does. A call made on the session
   * passed in joins the same transaction.
   */
  transaction<T>(work: (tx: StoreSession) => Promise<T>): Promise<T>
  /**
   * Like `transaction`, but first takes the store-wide schema lock, so that two nodes never
   * change the schema at once (PostgreSQL advisory lock; SQLite's write lock does it already).
   */
  schemaTransaction<T>(work: (tx: StoreSession) => Promise<T>): Promise<T>
  /**
   * Inserts one record and its change event, all or nothing, as a write of its own (never inside
   * a caller's transaction), and returns the row as stored (decoded). `change` builds the event
   * from the stored row. For a write that needs nothing else in its transaction (no hook, rule,
   * relation or file check): on PostgreSQL it is one statement, with no BEGIN or COMMIT round
   * trip, and `change` is given the row the database will store, known before it is sent (the
   * encoded values and the columns' defaults, which round-trip exactly: text, double precision,
   * boolean); on SQLite a transaction as `transaction` runs it.
   */
  insertRecordAlone(
    collection: CollectionDef,
    values: Row,
    change: (stored: Row) => ChangeInput,
  ): Promise<Row>
  /**
   * Runs `work` in a transaction holding the named cluster-wide lock, or returns undefined at
   * once when another node holds it (PostgreSQL `pg_try_advisory_xact_lock`; on SQLite the
   * write transaction itself excludes other processes).
   */
  exclusiveTransaction<T>(
    lock: 'dispatcher',
    work: (tx: StoreSession) => Promise<T>,
  ): Promise<T | undefined>
  /**
   * A number that grows each time this process commits a change that can alter who a caller is
   * or may be: an auth record updated or deleted, sessions revoked, a collection changed. A
   * cached caller read before the number last grew is stale. Changes made by other processes do
   * not move it (see the auth service's caller cache for how long they may take to show).
   */
  readonly callerGeneration: number
  /**
   * Calls `listener` with the names of the collections whose records this process changed,
   * right after the change is committed (at once for a write outside a transaction; never for a
   * transaction that rolled back). The response cache invalidates on it. Returns an unsubscribe.
   */
  onRecordsWritten(listener: (collections: readonly string[]) => void): () => void
  /** Tables, columns and indexes as they are in the database (for checks and tests). */
  introspect(): Promise<TableShape[]>
  /** Throws when the database does not answer. */
  ping(): Promise<void>
  /** The engine's own migrations this build expects but the database lacks (for readiness). */
  missingSystemMigrations(): Promise<string[]>
  close(): Promise<void>
}
