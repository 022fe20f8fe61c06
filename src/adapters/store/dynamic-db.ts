import type { Kysely } from 'kysely'

/**
 * A Kysely over tables that exist only at run time (one per collection), so there is no static
 * database type to give it. Identifiers still come only from validated schema definitions.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type DynamicDb = Kysely<any>
