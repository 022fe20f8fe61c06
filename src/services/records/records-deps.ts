import type { Clock } from '../../core/clock.js'
import type { Row, Store, StoreSession } from '../../adapters/store/store.js'
import type { CollectionDef } from '../../core/schema/types.js'
import type { RequestContext } from '../context.js'
import type { SchemaRegistry } from '../schema/schema-registry.js'
import type { PasswordHasher } from '../auth/password-hasher.js'
import type { FileWrites } from '../files/file-writes.js'
import type { ThrottlePolicy } from '../auth/auth-throttle.js'
import type { ExpandLimits } from './expand-limits.js'

/** What the record services are built from; passed in, never reached for. */
export interface RecordsDeps {
  store: Store
  registry: SchemaRegistry
  clock: Clock
  passwords: PasswordHasher
  /** Signs cursors. */
  secret: string
  /** Limits on guessing: an update's `oldPassword` counts with sign-in failures. */
  throttle?: ThrottlePolicy
  /** Called after a write transaction commits (wakes the realtime dispatcher). */
  onCommit?: () => void
  /** Stores and cleans up the blobs of file fields; without it only JSON file changes apply. */
  files?: FileWrites
  /** Bounds on `expand` (default DEFAULT_EXPAND_LIMITS). */
  expandLimits?: ExpandLimits
  /** An extension's `before` hooks, run inside each write's transaction. */
  hooks?: BeforeWriteHooks
}

/**
 * The seam between the write path and extensions (services/extensions/before-hooks.ts). Each
 * runs inside the write's transaction, after the access rule let the write through; what the
 * hooks leave in the record they are given is validated again and written.
 */
export interface BeforeWriteHooks {
  has(collection: string, action: 'create' | 'update' | 'delete'): boolean
  /** Returns the new record's values as the hooks left them. */
  beforeCreate(
    ctx: RequestContext,
    session: StoreSession,
    collection: CollectionDef,
    record: Row,
  ): Promise<Row>
  /** Returns the changes as the hooks left them. */
  beforeUpdate(
    ctx: RequestContext,
    session: StoreSession,
    collection: CollectionDef,
    id: string,
    changes: Row,
    previous: Row,
  ): Promise<Row>
  beforeDelete(
    ctx: RequestContext,
    session: StoreSession,
    collection: CollectionDef,
    id: string,
    record: Row,
  ): Promise<void>
}

/** Limits on list requests; the defaults follow QUERY-LANGUAGE.md. */
export const LIST_LIMITS = {
  defaultPerPage: 30,
  maxPerPage: 500,
  maxPage: 100_000,
  maxSortTerms: 8,
  maxExpandNodes: 16,
  maxExpandDepth: 3,
}
