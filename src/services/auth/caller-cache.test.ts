import { describe, expect, it } from 'vitest'
import type { CollectionDef } from '../../core/schema/types.js'
import type { AuthIdentity } from '../context.js'
import { createCallerCache } from './caller-cache.js'

const users = { id: 'c1', name: 'users', type: 'auth' } as unknown as CollectionDef
const catalogue = new Map([['users', users]])
const claims = { kid: 'k1', exp: 1e9 }
const identity = (id: string): AuthIdentity => ({
  collection: users,
  record: { id },
  isSuperuser: false,
  sessionId: `s-${id}`,
})

describe('createCallerCache', () => {
  it('answers within recheckMs, under the generation and catalogue it was read with', () => {
    const cache = createCallerCache({ recheckMs: 1000, maxEntries: 10 })
    const stamp = { generation: 3, catalogue }
    const ann = cache.set('t1', identity('ann'), stamp, 0, claims)
    expect(cache.get('t1', 999, stamp)?.identity).toBe(ann)
    expect(cache.get('t1', 1000, stamp)).toBeUndefined()
    cache.set('t1', ann, stamp, 0, claims)
    expect(cache.get('t1', 10, { generation: 4, catalogue })).toBeUndefined()
    cache.set('t1', ann, stamp, 0, claims)
    expect(cache.get('t1', 10, { generation: 3, catalogue: new Map(catalogue) })).toBeUndefined()
    expect(cache.get('t2', 10, stamp)).toBeUndefined()
  })

  it('freezes what it hands out, and keeps nothing when recheckMs is 0', () => {
    const cache = createCallerCache({ recheckMs: 0, maxEntries: 10 })
    const stamp = { generation: 0, catalogue }
    const ann = cache.set('t1', identity('ann'), stamp, 0, claims)
    expect(Object.isFrozen(ann) && Object.isFrozen(ann.record)).toBe(true)
    expect(() => {
      ;(ann.record as Record<string, unknown>).role = 'admin'
    }).toThrow(TypeError)
    expect(cache.get('t1', 0, stamp)).toBeUndefined()
    expect(cache.size).toBe(0)
  })

  it('never keeps an entry past its token expiry, and tells the signing key', () => {
    const cache = createCallerCache({ recheckMs: 60_000, maxEntries: 10 })
    const stamp = { generation: 0, catalogue }
    cache.set('t1', identity('ann'), stamp, 0, { kid: 'k7', exp: 2 })
    expect(cache.get('t1', 1999, stamp)?.kid).toBe('k7')
    expect(cache.get('t1', 2000, stamp)).toBeUndefined()
  })

  it('holds at most maxEntries, dropping the oldest', () => {
    const cache = createCallerCache({ recheckMs: 1000, maxEntries: 2 })
    const stamp = { generation: 0, catalogue }
    for (const name of ['a', 'b', 'c']) cache.set(name, identity(name), stamp, 0, claims)
    expect(cache.size).toBe(2)
    expect(cache.get('a', 1, stamp)).toBeUndefined()
    expect(cache.get('c', 1, stamp)?.identity.record.id).toBe('c')
  })
})
