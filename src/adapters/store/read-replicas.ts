import { AsyncLocalStorage } from 'node:async_hooks'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { DynamicDb } from './dynamic-db.js'
import { KyselyStore } from './kysely-store.js'
import { kyselyLogFor } from './observe-queries.js'
import { postgresAdapter } from './postgres/postgres-store.js'
import type { QueryObserver, Store } from './store.js'

/** The store reads a request may take from a replica: record lists, counts and gets by id. */
const REPLICA_READS = new Set<PropertyKey>(['selectRecords', 'countRecords', 'selectByIds'])

/** Where the routed reads went, since start: `er_store_reads_total{target}`. */
export interface ReadCounts {
  primary: number
  replica: number
}

/**
 * Reads that tolerate lag on PostgreSQL read replicas (`DATABASE_REPLICA_URLS`). The store it
 * returns is the primary's, except that record lists, counts and gets made inside
 * `onReplica(work)` go to a replica (round robin). Everything else (writes, transactions, auth,
 * schema, the outbox) and every read outside `onReplica` stays on the primary, so nothing but
 * the HTTP layer's chosen reads is ever routed.
 *
 * A replica is opened without migrations (a standby is read-only): it serves the primary's
 * schema as replicated.
 *
 * @example
 *   const routed = await openReadReplicas(primary, ['postgres://replica-1/app'])
 *   await routed.onReplica(() => routed.store.selectRecords(query))
 */
export async function openReadReplicas(
  primary: Store,
  urls: readonly string[],
  options: { maxConnections?: number; onQuery?: QueryObserver } = {},
): Promise<{
  store: Store
  onReplica<T>(work: () => Promise<T>): Promise<T>
  counts(): ReadCounts
}> {
  const replicas: Store[] = []
  try {
    for (const url of urls) {
      const pool = new pg.Pool({
        connectionString: url,
        max: options.maxConnections ?? 10,
        connectionTimeoutMillis: 10_000,
      })
      // As on the primary: a lost idle or checked-out connection must not crash the process.
      pool.on('error', () => {})
      pool.on('connect', (client) => client.on('error', () => {}))
      const db: DynamicDb = new Kysely({
        dialect: new PostgresDialect({ pool }),
        log: kyselyLogFor(options.onQuery),
      })
      replicas.push(new KyselyStore(db, postgresAdapter))
    }
  } catch (error) {
    await Promise.all(replicas.map((r) => r.close()))
    throw error
  }
  const routing = new AsyncLocalStorage<true>()
  const counts: ReadCounts = { primary: 0, replica: 0 }
  let next = 0
  const store = new Proxy(primary, {
    // `target` as the receiver: the store's getters read private fields a proxy does not have.
    get(target, property) {
      if (property === 'close') {
        return async () => {
          await Promise.all(replicas.map((r) => r.close()))
          await target.close()
        }
      }
      const value = Reflect.get(target, property) as unknown
      if (typeof value !== 'function') return value
      if (!REPLICA_READS.has(property)) return value.bind(target)
      return (...args: unknown[]) => {
        if (routing.getStore() !== true) {
          counts.primary++
          return (value as (...a: unknown[]) => unknown).apply(target, args)
        }
        counts.replica++
        const replica = replicas[next++ % replicas.length] as Store
        return (Reflect.get(replica, property) as (...a: unknown[]) => unknown).apply(replica, args)
      }
    },
  })
  return {
    store,
    onReplica: (work) => routing.run(true, work),
    counts: () => ({ ...counts }),
  }
}
