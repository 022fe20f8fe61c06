import type { ProductRow } from '../../adapters/store/store.js'
import { pushIssue, throwIfIssues } from '../../core/errors/field-issues.js'
import type { FieldIssues } from '../../core/errors/index.js'

/**
 * What a paid checkout creates, as a superuser, in the transaction that records the payment:
 * a record of `collection` with `record`'s fields, where the values `@payer`, `@checkout`,
 * `@product` and `@quantity` stand for the checkout's.
 *
 * @example
 *   { "collection": "enrolments", "record": { "user": "@payer", "class": "cls_rust_101" } }
 */
export interface ProductGrant {
  collection: string
  record: Record<string, string | number | boolean | null>
}

/** A product as clients see it. */
export interface Product {
  id: string
  name: string
  description: string
  amount: number
  currency: string
  active: boolean
  grant?: ProductGrant | null
  created: string
  updated: string
}

export interface ProductInput {
  id?: unknown
  name?: unknown
  description?: unknown
  amount?: unknown
  currency?: unknown
  grant?: unknown
  active?: unknown
}

const MAX_AMOUNT = 100_000_000
const MAX_GRANT_FIELDS = 50
const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/

/** A product row as the API shows it; the grant only to superusers (it names internals). */
export function toProduct(row: ProductRow, withGrant: boolean): Product {
  const product: Product = {
    id: row.id,
    name: row.name,
    description: row.description,
    amount: row.amount,
    currency: row.currency,
    active: row.active,
    created: row.created,
    updated: row.updated,
  }
  if (withGrant) product.grant = row.grant === null ? null : (JSON.parse(row.grant) as ProductGrant)
  return product
}

/**
 * Checks a create (every field required but `id`, `description`, `grant`, `active`) or an update
 * (`previous` given: fields absent keep their value) and returns the row to store. Every issue is
 * reported at once, by field name.
 */
export function readProductInput(
  input: ProductInput,
  previous: ProductRow | undefined,
  context: { newId: () => string; now: string; collectionExists: (name: string) => boolean },
): ProductRow {
  const issues: FieldIssues = {}
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    pushIssue(issues, 'body', 'type', 'must be a JSON object')
    throwIfIssues(issues, 'ER_VALIDATION_FAILED')
  }
  const has = (key: keyof ProductInput) => input[key] !== undefined
  if (previous && has('id') && input.id !== previous.id) {
    pushIssue(issues, 'id', 'immutable', 'cannot be changed')
  }
  if (!previous && has('id') && (typeof input.id !== 'string' || !ID_PATTERN.test(input.id))) {
    pushIssue(issues, 'id', 'pattern', 'must be 1 to 64 of A-Z, a-z, 0-9, _ and -')
  }
  if (has('name') || !previous) {
    if (typeof input.name !== 'string' || input.name.trim() === '' || input.name.length > 200) {
      pushIssue(issues, 'name', 'length', 'must be a text of 1 to 200 characters')
    }
  }
  if (
    has('description') &&
    (typeof input.description !== 'string' || input.description.length > 2000)
  ) {
    pushIssue(issues, 'description', 'length', 'must be a text of at most 2000 characters')
  }
  if (has('amount') || !previous) {
    const amount = input.amount
    if (
      typeof amount !== 'number' ||
      !Number.isInteger(amount) ||
      amount < 0 ||
      amount > MAX_AMOUNT
    ) {
      pushIssue(
        issues,
        'amount',
        'range',
        `must be an integer from 0 to ${MAX_AMOUNT} (minor units, e.g. cents)`,
      )
    }
  }
  if (has('currency') || !previous) {
    if (typeof input.currency !== 'string' || !/^[A-Za-z]{3}$/.test(input.currency)) {
      pushIssue(issues, 'currency', 'pattern', 'must be a three-letter ISO 4217 code such as "eur"')
    }
  }
  if (has('active') && typeof input.active !== 'boolean') {
    pushIssue(issues, 'active', 'type', 'must be true or false')
  }
  if (has('grant') && input.grant !== null)
    checkGrant(input.grant, issues, context.collectionExists)
  throwIfIssues(issues, 'ER_VALIDATION_FAILED')
  const base = previous ?? {
    id: typeof input.id === 'string' ? input.id : context.newId(),
    description: '',
    grant: null,
    active: true,
    created: context.now,
  }
  return {
    ...base,
    name: has('name') ? (input.name as string).trim() : (previous?.name ?? ''),
    description: has('description') ? (input.description as string) : base.description,
    amount: has('amount') ? (input.amount as number) : (previous?.amount ?? 0),
    currency: has('currency')
      ? (input.currency as string).toLowerCase()
      : (previous?.currency ?? ''),
    grant: has('grant') ? (input.grant === null ? null : JSON.stringify(input.grant)) : base.grant,
    active: has('active') ? (input.active as boolean) : base.active,
    updated: context.now,
  } as ProductRow
}

function checkGrant(grant: unknown, issues: FieldIssues, exists: (name: string) => boolean): void {
  if (typeof grant !== 'object' || grant === null || Array.isArray(grant)) {
    pushIssue(issues, 'grant', 'type', 'must be null or { "collection": …, "record": { … } }')
    return
  }
  const { collection, record, ...rest } = grant as Record<string, unknown>
  if (Object.keys(rest).length > 0) {
    pushIssue(issues, 'grant', 'unknown', `has unknown keys: ${Object.keys(rest).join(', ')}`)
  }
  if (typeof collection !== 'string' || !exists(collection)) {
    pushIssue(issues, 'grant.collection', 'unknown', 'must name an existing collection')
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    pushIssue(issues, 'grant.record', 'type', 'must be an object of field values')
    return
  }
  const entries = Object.entries(record)
  if (entries.length > MAX_GRANT_FIELDS) {
    pushIssue(issues, 'grant.record', 'size', `may set at most ${MAX_GRANT_FIELDS} fields`)
  }
  for (const [key, value] of entries) {
    if (value !== null && !['string', 'number', 'boolean'].includes(typeof value)) {
      pushIssue(issues, `grant.record.${key}`, 'type', 'must be a text, number, boolean or null')
    }
  }
}

/** The grant's record with `@payer`, `@checkout`, `@product` and `@quantity` filled in. */
export function grantRecord(
  grant: ProductGrant,
  checkout: { id: string; userId: string; productId: string; quantity: number },
): Record<string, unknown> {
  const stand: Record<string, unknown> = {
    '@payer': checkout.userId,
    '@checkout': checkout.id,
    '@product': checkout.productId,
    '@quantity': checkout.quantity,
  }
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(grant.record)) {
    out[key] = typeof value === 'string' && value in stand ? stand[value] : value
  }
  return out
}
