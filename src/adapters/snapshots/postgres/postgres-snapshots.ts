import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import pg from 'pg'
import { EngineError } from '../../../core/errors/index.js'
import type { DatabaseSnapshots, SnapshotFacts, SnapshotFile } from '../snapshots.js'
import { libpqConnection, runTool, schemaOfUrl, withDatabase } from './postgres-tools.js'

/** The one part of a PostgreSQL snapshot: a `pg_dump -Fc` archive of the engine's schema. */
const PART = 'database.pgdump'
const FILES_PAGE = 1000

const quoteId = (name: string) => `"${name.replaceAll('"', '""')}"`

/**
 * Snapshots of the engine's schema in the database `url` names. `take` opens a repeatable-read
 * transaction, exports its snapshot, runs `pg_dump --snapshot` on it and reads the facts in the
 * same transaction: dump and facts see one moment, while other sessions keep writing.
 *
 * @example
 *   const snapshots = createPostgresSnapshots({ url: process.env.DATABASE_URL })
 */
export function createPostgresSnapshots(options: { url: string }): DatabaseSnapshots {
  const { url } = options
  const connect = async (target = url) => {
    const client = new pg.Client({ connectionString: target, connectionTimeoutMillis: 10_000 })
    client.on('error', () => {})
    await client.connect()
    return client
  }

  return {
    dialect: 'postgres',
    async take(folder) {
      const client = await connect()
      try {
        await client.query('begin isolation level repeatable read read only')
        const { rows } = await client.query<{
          snapshot: string
          schema: string | null
          version: string
        }>(
          `select pg_export_snapshot() as snapshot, current_schema() as schema,
             current_setting('server_version') as version`,
        )
        const { snapshot, schema, version } = rows[0] as {
          snapshot: string
          schema: string | null
          version: string
        }
        if (!schema) throw new Error('the connection has no current schema (check search_path)')
        const facts = await factsOf(client, schema)
        const { dbname, env } = libpqConnection(url)
        await runTool(
          'pg_dump',
          [
            '--format=custom',
            `--snapshot=${snapshot}`,
            `--schema=${schema}`,
            `--file=${join(folder, PART)}`,
            `--dbname=${dbname}`,
          ],
          env,
        )
        return {
          parts: [PART],
          facts,
          database: { schema, serverVersion: version },
          files: () => liveFiles(client, schema),
          release: async () => {
            await client.query('commit').catch(() => {})
            await client.end()
          },
        }
      } catch (error) {
        await client.end().catch(() => {})
        throw error
      }
    },
    async inspect(folder, database) {
      const schema = database.schema ?? 'public'
      const scratch = `er_verify_${randomBytes(6).toString('hex')}`
      const admin = await connect()
      try {
        await admin.query(`create database ${quoteId(scratch)}`).catch((error: Error) => {
          throw new EngineError(
            'ER_BACKUP_UNAVAILABLE',
            `Cannot create the scratch database to verify in (${error.message}). Verification needs the CREATEDB privilege.`,
          )
        })
        const target = withDatabase(url, scratch)
        const { dbname, env } = libpqConnection(target)
        let integrity = 'ok'
        await runTool(
          'pg_restore',
          [
            '--no-owner',
            '--no-privileges',
            '--exit-on-error',
            `--dbname=${dbname}`,
            join(folder, PART),
          ],
          env,
        ).catch((error: Error) => {
          if (error instanceof EngineError) throw error
          integrity = error.message
        })
        if (integrity !== 'ok') return { integrity, facts: emptyFacts() }
        const client = await connect(target)
        try {
          return { integrity, facts: await factsOf(client, schema) }
        } finally {
          await client.end()
        }
      } finally {
        await admin
          .query(`drop database if exists ${quoteId(scratch)} with (force)`)
          .catch(() => {})
        await admin.end()
      }
    },
    async targetIsEmpty() {
      const client = await connect()
      try {
        const { rows } = await client.query<{ n: string }>(
          `select count(*) as n from information_schema.tables where table_schema = $1`,
          [schemaOfUrl(url)],
        )
        return Number(rows[0]?.n ?? 0) === 0
      } finally {
        await client.end()
      }
    },
    // Other nodes' connections cannot be told apart from other users of the database; the
    // disaster-recovery guide says to stop every node before a restore with --force.
    async assertTargetNotLive() {},
    async restore(folder, database) {
      const schema = database.schema ?? 'public'
      if (schemaOfUrl(url) !== schema) {
        throw new EngineError(
          'ER_VALIDATION_FAILED',
          `The archive holds the schema "${schema}" but DATABASE_URL uses "${schemaOfUrl(url)}". Add ?options=-c%20search_path%3D${schema} to DATABASE_URL.`,
        )
      }
      const client = await connect()
      try {
        // pg_restore creates the schema itself (it is in the dump); the caller checked it is
        // empty, or was told to replace it with --force.
        await client.query(`drop schema if exists ${quoteId(schema)} cascade`)
      } finally {
        await client.end()
      }
      const { dbname, env } = libpqConnection(url)
      await runTool(
        'pg_restore',
        [
          '--no-owner',
          '--no-privileges',
          '--exit-on-error',
          `--dbname=${dbname}`,
          join(folder, PART),
        ],
        env,
      )
    },
  }
}

function emptyFacts(): SnapshotFacts {
  return { tables: {}, lastEventId: 0, schemaVersion: '', systemMigrations: [] }
}

/**
 * Per table its row count and the sum of the first 60 bits of each row's MD5 (of its text
 * form), computed by the server in constant memory and independent of row order.
 */
async function factsOf(client: pg.Client, schema: string): Promise<SnapshotFacts> {
  const { rows: names } = await client.query<{ name: string }>(
    `select table_name as name from information_schema.tables
     where table_schema = $1 and table_type = 'BASE TABLE' order by table_name`,
    [schema],
  )
  const tables: SnapshotFacts['tables'] = {}
  const qualified = (table: string) => `${quoteId(schema)}.${quoteId(table)}`
  for (const { name } of names) {
    const { rows } = await client.query<{ rows: string; checksum: string }>(
      `select count(*) as rows,
         coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint), 0)::text as checksum
       from ${qualified(name)} as t`,
    )
    tables[name] = { rows: Number(rows[0]?.rows ?? 0), checksum: rows[0]?.checksum ?? '0' }
  }
  const has = (table: string) => names.some((n) => n.name === table)
  const single = async (text: string) =>
    (await client.query(text)).rows[0] as Record<string, unknown> | undefined
  return {
    tables,
    lastEventId: has('_outbox')
      ? Number(
          (await single(`select coalesce(max(id), 0) as id from ${qualified('_outbox')}`))?.id ?? 0,
        )
      : 0,
    schemaVersion: has('_settings')
      ? String(
          (await single(`select value from ${qualified('_settings')} where key = 'schema_version'`))
            ?.value ?? '',
        )
      : '',
    systemMigrations: has('_system_migrations')
      ? (
          await client.query<{ name: string }>(
            `select name from ${qualified('_system_migrations')} order by name`,
          )
        ).rows.map((r) => r.name)
      : [],
  }
}

/** The live rows of `_files` as the snapshot's transaction sees them, a page at a time. */
async function* liveFiles(client: pg.Client, schema: string): AsyncIterable<SnapshotFile> {
  let after = ['', '', '']
  for (;;) {
    const { rows } = await client.query<{
      collection_id: string
      record_id: string
      name: string
      size: string
      sha256: string
    }>(
      `select collection_id, record_id, name, size, sha256 from ${quoteId(schema)}."_files"
       where deleted is null and (collection_id, record_id, name) > ($1, $2, $3)
       order by collection_id, record_id, name limit ${FILES_PAGE}`,
      after,
    )
    for (const row of rows) {
      yield {
        collectionId: row.collection_id,
        recordId: row.record_id,
        name: row.name,
        size: Number(row.size),
        sha256: row.sha256,
      }
    }
    const last = rows.at(-1)
    if (!last || rows.length < FILES_PAGE) return
    after = [last.collection_id, last.record_id, last.name]
  }
}
