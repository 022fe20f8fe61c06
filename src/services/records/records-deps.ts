import type { Clock } from '../../core/clock.js'
import type { Store } from '../../adapters/store/store.js'
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
