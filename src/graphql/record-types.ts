import {
  GraphQLBoolean,
  type GraphQLEnumType,
  GraphQLFloat,
  GraphQLID,
  GraphQLInputObjectType,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLString,
  type GraphQLFieldConfigMap,
  type GraphQLInputFieldConfigMap,
  type GraphQLInputType,
  type GraphQLOutputType,
} from 'graphql'
import { isMultiValued } from '../core/schema/field-info.js'
import type { CollectionDef, FieldDef, NumberField } from '../core/schema/types.js'
import { GraphQLJSON } from './json-scalar.js'
import { UNFILTERED_VISIBILITY, type CallerVisibility } from '../services/caller-visibility.js'
import type { ExpandLimits } from '../services/records/expand-limits.js'
import type { CostMultiplier } from './limits.js'
import { isGraphqlFieldName, type CollectionNames } from './naming.js'
import { buildSelectEnum } from './select-enums.js'

/** A relation as GraphQL shows it: a field of the record type that resolves to records. */
export interface RelationLink {
  /** The expand name REST uses for it (`author`, `comments_via_post`). */
  expand: string
  target: CollectionDef
  multi: boolean
  /** Most records it holds per record: a multi relation's maxSelect; none for back-relations. */
  maxSelect?: number
}

/** The types of one collection, and its relations by GraphQL field name. */
export interface CollectionTypes {
  /** The definition (its fields may be more than the types show). */
  collection: CollectionDef
  names: CollectionNames
  record: GraphQLObjectType
  page: GraphQLObjectType
  createInput: GraphQLInputObjectType | undefined
  updateInput: GraphQLInputObjectType | undefined
  relations: Map<string, RelationLink>
}

const nonNull = <T extends GraphQLOutputType>(type: T) => new GraphQLNonNull(type)
const listOf = <T extends GraphQLOutputType | GraphQLInputType>(type: T) =>
  new GraphQLList(new GraphQLNonNull(type))

/**
 * Builds the object and input types of every collection the caller's class can reach (`view`,
 * see caller-visibility.ts). Relation fields reference other collections' types, so fields are
 * thunks, resolved once all types exist. Relations resolve from `expand`, which the query
 * resolvers fill in one batched query per relation and level (see selection-expand.ts): no
 * resolver here touches the store.
 *
 * What the class may not know is left out: hidden fields (and back-relations through them)
 * for non-superusers; relations into collections it could not view; for an auth collection it
 * reaches only to sign in, every field but the system ones.
 */
export function buildCollectionTypes(
  collections: readonly CollectionDef[],
  names: Map<string, CollectionNames>,
  expandLimits: ExpandLimits,
  view: CallerVisibility = UNFILTERED_VISIBILITY,
): Map<string, CollectionTypes> {
  const out = new Map<string, CollectionTypes>()
  // Per collection, what the caller reads and what it may write.
  const shown = new Map<string, CollectionDef>()
  const writable = new Map<string, CollectionDef>()
  for (const collection of collections) {
    const reach = view.reach(collection)
    if (!names.has(collection.name) || reach === 'none') continue
    const keep = (test: (field: FieldDef) => boolean) =>
      reach === 'account' ? [] : collection.fields.filter(test)
    shown.set(collection.name, { ...collection, fields: keep((f) => view.returnsField(f)) })
    writable.set(collection.name, { ...collection, fields: keep((f) => view.acceptsField(f)) })
  }
  const viewableNames = new Set(
    collections.filter((c) => shown.has(c.name) && view.may(c, 'view')).map((c) => c.name),
  )
  const viewable = (target: CollectionDef) => viewableNames.has(target.name)
  for (const original of collections) {
    const collection = shown.get(original.name)
    if (!collection) continue
    const own = names.get(original.name) as CollectionNames
    // One enum per select field, shared by the record type and both inputs (GraphQL names are
    // unique per schema, so the same name must be the same type instance).
    const enums = new Map<string, GraphQLEnumType>()
    for (const field of original.fields) {
      const name = own.enums[field.name]
      if (field.type === 'select' && name !== undefined)
        enums.set(field.name, buildSelectEnum(name, original.name, field))
    }
    // An account-only collection shows its system fields, and so no relation either.
    const relations =
      view.reach(original) === 'account' || !view.mayExpand
        ? new Map<string, RelationLink>()
        : relationLinks(original, collection, [...shown.values()], viewable)
    const record: GraphQLObjectType = new GraphQLObjectType({
      name: own.type,
      description: `A record of the "${collection.name}" collection.`,
      fields: () => recordFields(collection, relations, out, expandLimits, enums),
    })
    const page = new GraphQLObjectType({
      name: own.page,
      description: `A page of "${collection.name}" records.`,
      fields: {
        items: { type: nonNull(listOf(record)) },
        page: { type: nonNull(GraphQLInt) },
        perPage: { type: nonNull(GraphQLInt) },
        nextCursor: {
          type: GraphQLString,
          description: 'Pass as `cursor` for the next page; null on the last page.',
        },
        totalItems: {
          type: GraphQLInt,
          description: 'Every record matching the filter; counted only when selected.',
        },
      },
    })
    const input = writable.get(original.name) as CollectionDef
    const createFields = inputFields(input, enums, 'create')
    const hasInput = Object.keys(createFields).length > 0
    out.set(collection.name, {
      collection: original,
      names: own,
      record,
      page,
      createInput: hasInput
        ? new GraphQLInputObjectType({ name: own.createInput, fields: createFields })
        : undefined,
      updateInput: hasInput
        ? new GraphQLInputObjectType({
            name: own.updateInput,
            description: 'Only the fields sent are changed.',
            fields: inputFields(input, enums, 'update'),
          })
        : undefined,
      relations,
    })
  }
  return out
}

/**
 * Forward relations by field name, then back-relations as `<collection>_via_<field>`, into
 * collections the caller could view.
 */
function relationLinks(
  original: CollectionDef,
  collection: CollectionDef,
  included: readonly CollectionDef[],
  viewable: (target: CollectionDef) => boolean,
): Map<string, RelationLink> {
  const links = new Map<string, RelationLink>()
  const byName = new Map(included.filter(viewable).map((c) => [c.name, c]))
  for (const field of collection.fields) {
    if (field.type !== 'relation' || !isGraphqlFieldName(field.name)) continue
    const target = byName.get(field.collection)
    const maxSelect = field.maxSelect ?? 1
    if (target)
      links.set(field.name, { expand: field.name, target, multi: maxSelect > 1, maxSelect })
  }
  // Every field's name, shown or not: a back-relation is named the same in every class's schema.
  const taken = new Set(original.fields.map((f) => f.name))
  for (const source of byName.values()) {
    for (const field of source.fields) {
      if (field.type !== 'relation' || field.collection !== collection.name) continue
      const name = `${source.name}_via_${field.name}`
      if (!taken.has(name) && !links.has(name) && isGraphqlFieldName(name))
        links.set(name, { expand: name, target: source, multi: true })
    }
  }
  return links
}

function recordFields(
  collection: CollectionDef,
  relations: Map<string, RelationLink>,
  types: Map<string, CollectionTypes>,
  expandLimits: ExpandLimits,
  enums: ReadonlyMap<string, GraphQLEnumType>,
): GraphQLFieldConfigMap<Record<string, unknown>, unknown> {
  const fields: GraphQLFieldConfigMap<Record<string, unknown>, unknown> = {
    id: { type: nonNull(GraphQLID) },
    created: { type: nonNull(GraphQLString), description: 'ISO 8601 UTC.' },
    updated: { type: nonNull(GraphQLString), description: 'ISO 8601 UTC.' },
  }
  if (collection.type === 'auth') {
    fields.email = { type: nonNull(GraphQLString) }
    fields.verified = { type: nonNull(GraphQLBoolean) }
  }
  for (const field of collection.fields) {
    if (field.type === 'relation' || !isGraphqlFieldName(field.name)) continue
    const description = [
      field.type === 'file'
        ? `File name${(field.maxSelect ?? 1) > 1 ? 's' : ''}, as REST returns them; each downloads at /api/files/${collection.name}/{id}/{name}${field.protected ? ' with ?token= from POST /api/files/token' : ''}.`
        : undefined,
      field.hidden ? 'Hidden: returned to superusers only.' : undefined,
      wideInteger(field) ? WIDE_INTEGER : undefined,
    ].filter(Boolean)
    fields[field.name] = {
      type: outputType(field, enums.get(field.name)),
      ...(description.length > 0 ? { description: description.join(' ') } : {}),
    }
  }
  for (const [name, link] of relations) {
    const target = types.get(link.target.name)
    if (!target) continue
    fields[name] = link.multi
      ? {
          type: nonNull(listOf(target.record)),
          description: `Related "${link.target.name}" records the caller may view.`,
          extensions: { cost: relationCost(link, expandLimits) },
          resolve: (parent) => expanded(parent, link.expand) ?? [],
        }
      : {
          type: target.record,
          description: `The related "${link.target.name}" record; null when unset or not viewable.`,
          resolve: (parent) => expanded(parent, link.expand) ?? null,
        }
  }
  return fields
}

/** The bounds `expand` enforces on a to-many relation, for the cost estimate (limits.ts). */
function relationCost(link: RelationLink, limits: ExpandLimits): CostMultiplier {
  const perParent = Math.min(link.maxSelect ?? limits.maxPerRelation, limits.maxPerRelation)
  return { perParent, atMost: limits.maxRecords }
}

function expanded(parent: Record<string, unknown>, name: string): unknown {
  return (parent.expand as Record<string, unknown> | undefined)?.[name]
}

/**
 * The scalar (or list of scalars) a non-relation field reads and writes as, without null:
 * select fields as their enum, integer numbers as `Int` when they fit (see {@link wideInteger}).
 */
function valueType(field: FieldDef, selectEnum: GraphQLEnumType | undefined) {
  switch (field.type) {
    case 'number':
      return field.integer === true && !wideInteger(field) ? GraphQLInt : GraphQLFloat
    case 'bool':
      return GraphQLBoolean
    case 'json':
      return GraphQLJSON
    case 'select': {
      const one = selectEnum ?? GraphQLString
      return isMultiValued(field) ? listOf(one) : one
    }
    case 'file':
      return isMultiValued(field) ? listOf(GraphQLString) : GraphQLString
    default:
      return GraphQLString
  }
}

/**
 * As REST's record schema has it (openapi-field-schemas.ts): never null when the field is
 * `required` (the engine refuses to store null there), and lists and booleans never are; json
 * and autodate fields may be null.
 */
function outputType(field: FieldDef, selectEnum: GraphQLEnumType | undefined): GraphQLOutputType {
  const type = valueType(field, selectEnum)
  const guaranteed =
    field.type === 'bool' ||
    isMultiValued(field) ||
    (field.required === true && field.type !== 'json' && field.type !== 'autodate')
  return guaranteed ? nonNull(type) : type
}

const INT32_MIN = -(2 ** 31)
const INT32_MAX = 2 ** 31 - 1
const WIDE_INTEGER =
  "An integer, typed Float because the field's declared min/max (or their absence) allow values beyond GraphQL's 32-bit Int; exact up to 2^53."

/**
 * An integer field whose declared bounds do not keep it within GraphQL's `Int` (32-bit signed,
 * spec §3.5.1): it is typed `Float`, which holds every integer the engine stores exactly (the
 * engine keeps numbers as doubles), rather than a custom scalar generators would not know.
 */
function wideInteger(field: FieldDef): field is NumberField {
  if (field.type !== 'number' || field.integer !== true) return false
  return !(
    field.min !== undefined &&
    field.max !== undefined &&
    field.min >= INT32_MIN &&
    field.max <= INT32_MAX
  )
}

/**
 * Input fields mirror what REST accepts (openapi-record-schemas.ts). On create, a field that is
 * required and has no default is non-null, as REST's create body requires it (a bool never is:
 * absent means false); on update every field is optional. The records service still validates
 * every value, so both APIs answer with the same field errors.
 */
function inputFields(
  collection: CollectionDef,
  enums: ReadonlyMap<string, GraphQLEnumType>,
  mode: 'create' | 'update',
): GraphQLInputFieldConfigMap {
  const fields: GraphQLInputFieldConfigMap = {}
  const needed = (type: GraphQLInputType) => (mode === 'create' ? new GraphQLNonNull(type) : type)
  if (collection.type === 'auth') {
    fields.email = { type: needed(GraphQLString) }
    fields.password = { type: needed(GraphQLString), description: 'Write-only; never returned.' }
    if (mode === 'update')
      fields.oldPassword = {
        type: GraphQLString,
        description: 'The current password: required beside `password` (not for superusers).',
      }
    fields.verified = { type: GraphQLBoolean }
  }
  for (const field of collection.fields) {
    if (field.type === 'autodate' || !isGraphqlFieldName(field.name)) continue
    const type = inputType(field, enums.get(field.name))
    const required =
      mode === 'create' && field.required === true && field.type !== 'bool' && !hasDefault(field)
    const description = [
      field.type === 'file'
        ? 'The field\'s new list: names of files the record has (kept, in this order) and "tus:<upload id>" for finished resumable uploads; null removes every file. Upload small files over REST multipart.'
        : undefined,
      wideInteger(field) ? WIDE_INTEGER : undefined,
      mode === 'create' && hasDefault(field)
        ? `Defaults to ${JSON.stringify(field.default)} when left out.`
        : undefined,
    ].filter(Boolean)
    fields[field.name] = {
      type: required ? new GraphQLNonNull(type) : type,
      ...(description.length > 0 ? { description: description.join(' ') } : {}),
    }
  }
  return fields
}

function hasDefault(field: FieldDef): field is FieldDef & { default: unknown } {
  return 'default' in field && field.default !== undefined
}

/** As read, except that a relation is written as its id (or ids). */
function inputType(field: FieldDef, selectEnum: GraphQLEnumType | undefined): GraphQLInputType {
  if (field.type !== 'relation') return valueType(field, selectEnum)
  return isMultiValued(field) ? listOf(GraphQLID) : GraphQLID
}
