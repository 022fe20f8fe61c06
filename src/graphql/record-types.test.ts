import {
  getNullableType,
  isEnumType,
  isListType,
  isNonNullType,
  printType,
  type GraphQLInputObjectType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLType,
} from 'graphql'
import { describe, expect, it } from 'vitest'
import type { CollectionDef, FieldDef } from '../core/schema/types.js'
import { buildOpenApiDocument } from '../services/openapi/build-openapi.js'
import type { JsonSchema } from '../services/openapi/openapi-types.js'
import { DEFAULT_EXPAND_LIMITS } from '../services/records/expand-limits.js'
import type { RecordsService } from '../services/records/records-service.js'
import type { AuthService } from '../services/auth/auth-service.js'
import { buildGraphqlSchema } from './graphql-schema.js'
import { enumValueNames } from './select-enums.js'

const rules = { list: '', view: '', create: '', update: '', delete: '' }
const at = '2026-01-01T00:00:00.000Z'
const collection = (name: string, fields: FieldDef[], type: 'base' | 'auth' = 'base') =>
  ({
    id: `c_${name}`,
    name,
    type,
    system: false,
    fields,
    indexes: [],
    rules,
    created: at,
    updated: at,
  }) satisfies CollectionDef

/** A field of every type, and every case of the rules that decide a field's GraphQL type. */
const fields: FieldDef[] = [
  { id: 'f1', name: 'title', type: 'text', required: true, max: 200 },
  { id: 'f2', name: 'subtitle', type: 'text' },
  { id: 'f3', name: 'lang', type: 'text', required: true, default: 'en' },
  { id: 'f4', name: 'views', type: 'number', integer: true, min: 0, max: 1_000_000 },
  { id: 'f5', name: 'bytes', type: 'number', integer: true, min: 0 },
  { id: 'f6', name: 'huge', type: 'number', integer: true, min: 0, max: 2 ** 31 },
  { id: 'f7', name: 'edge', type: 'number', integer: true, min: -(2 ** 31), max: 2 ** 31 - 1 },
  { id: 'f8', name: 'score', type: 'number', required: true, min: 0, max: 10 },
  { id: 'f9', name: 'pinned', type: 'bool' },
  { id: 'f10', name: 'publishAt', type: 'date', required: true },
  { id: 'f11', name: 'contact', type: 'email' },
  { id: 'f12', name: 'homepage', type: 'url', required: true },
  { id: 'f13', name: 'status', type: 'select', values: ['draft', 'in-review'], required: true },
  { id: 'f14', name: 'mood', type: 'select', values: ['happy', '4k'] },
  { id: 'f15', name: 'tags', type: 'select', values: ['a', 'b'], maxSelect: 2, required: true },
  { id: 'f16', name: 'meta', type: 'json', required: true },
  { id: 'f17', name: 'touched', type: 'autodate', onCreate: true, onUpdate: true },
  { id: 'f18', name: 'cover', type: 'file', required: true },
  { id: 'f19', name: 'gallery', type: 'file', maxSelect: 3 },
]
const posts = collection('posts', fields)
const users = collection('users', [], 'auth')
const deps = {
  records: { expandLimits: DEFAULT_EXPAND_LIMITS } as unknown as RecordsService,
  auth: {} as AuthService,
}

const schema = buildGraphqlSchema([posts, users], deps)
const doc = buildOpenApiDocument([posts, users])
const component = (name: string) => doc.components.schemas[name] as JsonSchema
const property = (schemaName: string, field: string) =>
  (component(schemaName).properties as Record<string, JsonSchema>)[field] as JsonSchema

function typeOf(name: string): GraphQLNamedType {
  const found = schema.getType(name)
  if (!found) throw new Error(`no type ${name}`)
  return found
}
const record = typeOf('Post') as GraphQLObjectType
const createInput = typeOf('PostCreateInput') as GraphQLInputObjectType
const updateInput = typeOf('PostUpdateInput') as GraphQLInputObjectType

/** The OpenAPI output schema allows null. */
const restNullable = (s: JsonSchema) =>
  Object.keys(s).length === 0 || (Array.isArray(s.type) && s.type.includes('null'))

describe('GraphQL record types agree with the REST document', () => {
  it('types every field as REST does: nullability, Int, enums, lists', () => {
    for (const field of fields) {
      if (field.type === 'relation') continue
      const gql = record.getFields()[field.name]?.type as GraphQLType
      const rest = property('PostsRecord', field.name)
      expect(isNonNullType(gql), field.name).toBe(!restNullable(rest))
      const inner = getNullableType(gql)
      if (field.type === 'number') {
        const restInteger = [rest.type].flat().includes('integer')
        const fits = ['views', 'edge'].includes(field.name)
        expect(String(inner), field.name).toBe(restInteger && fits ? 'Int' : 'Float')
      }
      if (field.type === 'select') {
        const items = isListType(inner) ? getNullableType(inner.ofType) : inner
        expect(isListType(inner), field.name).toBe(rest.type === 'array')
        expect(isEnumType(items), field.name).toBe(true)
        const restValues = (rest.type === 'array' ? (rest.items as JsonSchema).enum : rest.enum) as
          (string | null)[] | undefined
        const values = restValues?.filter((v): v is string => v !== null) ?? []
        if (isEnumType(items)) {
          expect(items.getValues().map((v) => v.value)).toEqual(values)
          expect(items.getValues().map((v) => v.name)).toEqual(enumValueNames(values))
        }
      }
    }
    expect(String(record.getFields().status?.type)).toBe('PostStatus!')
    expect(String(record.getFields().tags?.type)).toBe('[PostTags!]!')
    expect(String(record.getFields().mood?.type)).toBe('PostMood')
    expect(String(record.getFields().pinned?.type)).toBe('Boolean!')
    const user = typeOf('User') as GraphQLObjectType
    expect(String(user.getFields().email?.type)).toBe('String!')
    expect(String(user.getFields().verified?.type)).toBe('Boolean!')
  })

  it('requires on create what REST’s create body requires, and nothing on update', () => {
    const required = new Set(component('PostsCreate').required as string[])
    for (const [name, field] of Object.entries(createInput.getFields())) {
      expect(isNonNullType(field.type), name).toBe(required.has(name))
    }
    expect(
      Object.keys(createInput.getFields())
        .filter((n) => required.has(n))
        .sort(),
    ).toEqual([...required].sort())
    for (const [name, field] of Object.entries(updateInput.getFields())) {
      expect(isNonNullType(field.type), name).toBe(false)
    }
    const userCreate = typeOf('UserCreateInput') as GraphQLInputObjectType
    expect(String(userCreate.getFields().email?.type)).toBe('String!')
    expect(String(userCreate.getFields().password?.type)).toBe('String!')
    expect(new Set(component('UsersCreate').required as string[]).has('password')).toBe(true)
  })

  it('prints the enum with mapped names that say what they store', () => {
    expect(printType(typeOf('PostStatus'))).toContain('in_review')
    expect(printType(typeOf('PostStatus'))).toContain('Stored as "in-review".')
    expect(printType(typeOf('PostMood'))).toContain('_4k')
    expect(String(record.getFields().huge?.description)).toMatch(/32-bit Int/)
  })
})
