import { sql } from 'kysely'
import type { DialectAdapter } from '../dialect-adapter.js'
import type { DynamicDb } from '../dynamic-db.js'

/**
 * Payments: the product catalogue, one row per checkout (its state moves open → paid | failed |
 * canceled, paid → refunded), and the ledger of money moved, append-only. A provider event is
 * applied at most once: `_payment_events` holds the id of every event applied, unique per provider.
 */
export async function up(db: DynamicDb, adapter: DialectAdapter): Promise<void> {
  const text = sql.raw(adapter.systemColumnTypes.text)
  const int = sql.raw(adapter.dialect === 'sqlite' ? 'INTEGER' : 'bigint')
  await sql`create table ${sql.table('_payment_products')} (
    ${sql.id('id')} ${text} primary key not null,
    ${sql.id('name')} ${text} not null,
    ${sql.id('description')} ${text} not null,
    ${sql.id('amount')} ${int} not null,
    ${sql.id('currency')} ${text} not null,
    ${sql.id('grant')} ${text},
    ${sql.id('active')} ${int} not null,
    ${sql.id('created')} ${text} not null,
    ${sql.id('updated')} ${text} not null)`.execute(db)
  await sql`create table ${sql.table('_payment_checkouts')} (
    ${sql.id('id')} ${text} primary key not null,
    ${sql.id('provider')} ${text} not null,
    ${sql.id('provider_ref')} ${text},
    ${sql.id('provider_payment')} ${text},
    ${sql.id('user_collection')} ${text} not null,
    ${sql.id('user_id')} ${text} not null,
    ${sql.id('product_id')} ${text} not null,
    ${sql.id('quantity')} ${int} not null,
    ${sql.id('amount')} ${int} not null,
    ${sql.id('currency')} ${text} not null,
    ${sql.id('status')} ${text} not null,
    ${sql.id('created')} ${text} not null,
    ${sql.id('updated')} ${text} not null)`.execute(db)
  await sql`create index ${sql.id('_payment_checkouts_user')} on ${sql.table('_payment_checkouts')} (${sql.id('user_collection')}, ${sql.id('user_id')})`.execute(
    db,
  )
  await sql`create table ${sql.table('_payment_ledger')} (
    ${sql.id('id')} ${text} primary key not null,
    ${sql.id('checkout_id')} ${text} not null,
    ${sql.id('user_collection')} ${text} not null,
    ${sql.id('user_id')} ${text} not null,
    ${sql.id('product_id')} ${text} not null,
    ${sql.id('kind')} ${text} not null,
    ${sql.id('amount')} ${int} not null,
    ${sql.id('currency')} ${text} not null,
    ${sql.id('provider')} ${text} not null,
    ${sql.id('provider_event')} ${text} not null,
    ${sql.id('created')} ${text} not null)`.execute(db)
  await sql`create index ${sql.id('_payment_ledger_user')} on ${sql.table('_payment_ledger')} (${sql.id('user_collection')}, ${sql.id('user_id')}, ${sql.id('id')})`.execute(
    db,
  )
  await sql`create table ${sql.table('_payment_events')} (
    ${sql.id('provider')} ${text} not null,
    ${sql.id('event_id')} ${text} not null,
    ${sql.id('checkout_id')} ${text},
    ${sql.id('outcome')} ${text} not null,
    ${sql.id('received')} ${text} not null,
    primary key (${sql.id('provider')}, ${sql.id('event_id')}))`.execute(db)
}
