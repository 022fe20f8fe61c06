import type { Engine } from '../create-engine.js'
import { EngineError } from '../../core/errors/index.js'
import { newId } from '../../core/ids.js'
import { cliContext } from '../context.js'
import { readProductInput } from '../payments/payment-products.js'
import { HUB_COLLECTIONS } from './career-hub/hub-collections.js'
import {
  BOOTCAMPS,
  EMPLOYERS,
  POSTINGS,
  PRODUCTS,
  ROADMAP,
  SALARIES,
  SKILLS,
} from './career-hub/hub-seed.js'

/** The templates `engineroom init --template` knows. */
export const TEMPLATES = ['career-hub'] as const
export type TemplateName = (typeof TEMPLATES)[number]

const TEMPLATE_SETTING = 'template'
/** Collections a fresh database may already hold (the default `users`): they are extended. */
const EXTENDABLE = new Set(['users'])

/**
 * The template this database was filled from, if any.
 *
 * @example
 *   if ((await appliedTemplate(engine.store)) === 'career-hub') serveTheHubPage()
 */
export async function appliedTemplate(
  store: Pick<Engine['store'], 'getSetting'>,
): Promise<string | undefined> {
  return store.getSetting(TEMPLATE_SETTING)
}

export interface TemplateResult {
  /** False when the database already holds this template (nothing was done). */
  applied: boolean
  collections: string[]
  records: number
  products: number
}

/**
 * Creates a template's collections, rules, seed records and products, in that order: the schema
 * in one change (one migration file), then every record and product in one transaction, so a
 * failure leaves no half-seeded database. Refused when the database already has collections of
 * the template's names (but `users`, which it extends); a second run on the same database does
 * nothing.
 *
 * @example
 *   await applyTemplate(engine, 'career-hub', (line) => console.log(line))
 */
export async function applyTemplate(
  engine: Engine,
  name: TemplateName,
  progress: (line: string) => void = () => {},
): Promise<TemplateResult> {
  const done = await engine.store.getSetting(TEMPLATE_SETTING)
  if (done === name) return { applied: false, collections: [], records: 0, products: 0 }
  if (done !== undefined) {
    throw new EngineError(
      'ER_SCHEMA_INVALID',
      `This database already holds the "${done}" template; use a new --dir or database.`,
    )
  }
  const ctx = cliContext(engine.registry.get('_superusers'))
  await engine.registry.refreshIfStale()
  const taken = HUB_COLLECTIONS.map((c) => String(c.name)).filter(
    (n) => !EXTENDABLE.has(n) && engine.registry.find(n) !== undefined,
  )
  if (taken.length > 0) {
    throw new EngineError(
      'ER_SCHEMA_INVALID',
      `This database already has collections named ${taken.join(', ')}; apply the template to a new --dir or an empty database.`,
    )
  }
  progress(`collections: creating ${HUB_COLLECTIONS.length}`)
  const users = engine.registry.find('users')
  const schema = HUB_COLLECTIONS.map((def) =>
    def.name === 'users' && users
      ? // Keep the fields the existing users collection has; add the template's.
        {
          ...def,
          fields: [
            ...users.fields,
            ...(def.fields as { name: string }[]).filter(
              (f) => !users.fields.some((u) => u.name === f.name),
            ),
          ],
        }
      : def,
  )
  const { created, updated } = await engine.schema.importSchema(ctx, schema)
  const seeds: [string, Record<string, unknown>[]][] = [
    ['skills', SKILLS],
    ['roadmap_steps', ROADMAP],
    ['salaries', SALARIES],
    ['employers', EMPLOYERS],
    ['postings', POSTINGS],
    ['bootcamps', BOOTCAMPS],
  ]
  let records = 0
  const now = new Date().toISOString()
  await engine.records.transaction(async (tx) => {
    for (const [collection, rows] of seeds) {
      progress(`records: ${collection} (${rows.length})`)
      for (const row of rows) await engine.records.create(ctx, collection, row, tx)
      records += rows.length
    }
    progress(`products: ${PRODUCTS.length}`)
    for (const product of PRODUCTS) {
      const row = readProductInput(product, undefined, {
        newId: () => newId(),
        now,
        collectionExists: (n) => engine.registry.find(n) !== undefined,
      })
      await tx.payments.insertProduct(row)
    }
    await tx.setSetting(TEMPLATE_SETTING, name)
  })
  return {
    applied: true,
    collections: [...created, ...updated],
    records,
    products: PRODUCTS.length,
  }
}
