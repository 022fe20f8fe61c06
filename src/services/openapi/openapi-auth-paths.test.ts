import { Validator } from '@seriousme/openapi-schema-validator'
import { describe, expect, it } from 'vitest'
import type { CollectionDef } from '../../core/schema/types.js'
import { buildOpenApiDocument } from './build-openapi.js'

const at = '2026-01-01T00:00:00.000Z'
const users: CollectionDef = {
  id: 'c_users',
  name: 'users',
  type: 'auth',
  system: false,
  fields: [],
  indexes: [],
  rules: { list: '', view: '', create: null, update: null, delete: null },
  created: at,
  updated: at,
}

describe('OpenAPI auth paths', () => {
  const doc = buildOpenApiDocument([users])

  it('documents every authentication endpoint of an auth collection', () => {
    const base = '/api/collections/users/auth'
    const expected: [string, string][] = [
      ['password', 'post'],
      ['mfa/verify', 'post'],
      ['refresh', 'post'],
      ['logout', 'post'],
      ['sessions', 'get'],
      ['sessions', 'delete'],
      ['sessions/{id}', 'delete'],
      ['request-verification', 'post'],
      ['verify-email', 'post'],
      ['request-password-reset', 'post'],
      ['reset-password', 'post'],
      ['request-email-change', 'post'],
      ['confirm-email-change', 'post'],
      ['mfa', 'get'],
      ['mfa/totp', 'post'],
      ['mfa/totp/confirm', 'post'],
      ['mfa/totp/disable', 'post'],
      ['api-keys', 'get'],
      ['api-keys', 'post'],
      ['api-keys/{id}', 'delete'],
    ]
    for (const [path, method] of expected) {
      expect(doc.paths[`${base}/${path}`], `${method} ${path}`).toHaveProperty(method)
    }
    expect(doc.paths['/.well-known/jwks.json']).toHaveProperty('get')
  })

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(doc as unknown as Record<string, unknown>)
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
  })
})
