import { EngineError, type FieldIssues } from '../../core/errors/index.js'
import { checkFilter } from '../../core/filter/check.js'
import { parseFilter } from '../../core/filter/parser.js'
import { RULE_NAMES, type CollectionDef } from '../../core/schema/types.js'

/**
 * Checks what a definition says about the rest of the schema: relation targets exist, and each
 * rule parses and type-checks against the schema as it will be after the change.
 */
export function checkReferences(def: CollectionDef, others: readonly CollectionDef[]): void {
  const issues: FieldIssues = {}
  const find = (name: string) => (name === def.name ? def : others.find((c) => c.name === name))
  def.fields.forEach((field, index) => {
    if (field.type === 'relation' && !find(field.collection)) {
      ;(issues[`fields.${index}.collection`] ??= []).push({
        code: 'unknown',
        message: `there is no collection "${field.collection}"`,
      })
    }
  })
  for (const rule of RULE_NAMES) {
    const text = def.rules[rule]
    if (text === null || text.trim() === '') continue
    try {
      const expr = parseFilter(text)
      checkFilter(expr, { collection: def, findCollection: find, mode: 'rule' })
    } catch (error) {
      if (!(error instanceof EngineError)) throw error
      const messages = Object.values(error.errors ?? {}).flat()
      issues[`rules.${rule}`] =
        messages.length > 0 ? messages : [{ code: 'invalid', message: error.message }]
    }
  }
  const keys = Object.keys(issues)
  if (keys.length > 0) {
    const first = keys[0] as string
    throw new EngineError('ER_SCHEMA_INVALID', `${first}: ${issues[first]?.[0]?.message}.`, {
      errors: issues,
    })
  }
}

/** Relation fields elsewhere that point at `name`, as `collection.field`. */
export function referencesTo(
  name: string,
  collections: readonly CollectionDef[],
): { collection: CollectionDef; field: string }[] {
  const found: { collection: CollectionDef; field: string }[] = []
  for (const collection of collections) {
    if (collection.name === name) continue
    for (const field of collection.fields) {
      if (field.type === 'relation' && field.collection === name)
        found.push({ collection, field: field.name })
    }
  }
  return found
}
