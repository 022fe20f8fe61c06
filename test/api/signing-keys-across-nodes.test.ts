/**
 * A node's token signer holds the signing keys in memory; another process (`engineroom keys`,
 * another node) changes them in the store. The node must follow: at once when told on the bus,
 * at its periodic re-read otherwise (also for tokens it already verified and remembered), and
 * without refusing concurrent tokens signed with a key it is still reading.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createInProcessBus } from '../../src/adapters/bus/in-process/in-process-bus.js'
import { openSqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js'
import type { Store } from '../../src/adapters/store/store.js'
import {
  announceSigningKeysChange,
  removeSigningKey,
  rotateSigningKey,
} from '../../src/services/auth/signing-keys.js'
import { withVerifyCache } from '../../src/services/auth/token-cache.js'
import { loadTokenSigner, type TokenSigner } from '../../src/services/auth/token-signer.js'

const CLAIMS = { sub: 'r1', cid: 'c1', tk: 'fingerprint', sid: 's1' }

/** What another process does: the same store, its own signer. */
async function otherNode(store: Store): Promise<TokenSigner> {
  return loadTokenSigner(store, { ttlSeconds: 600 })
}

describe('the token signer follows key changes made by another process', () => {
  let store: Store
  beforeEach(async () => {
    store = await openSqliteStore({ file: ':memory:', seedDefaults: true })
  })
  afterEach(async () => {
    await store.close()
  })

  it('re-reads the keys after `reloadMs` on verify, so a removed key stops verifying cached tokens', async () => {
    const signer = withVerifyCache(
      await loadTokenSigner(store, { ttlSeconds: 600, reloadMs: 50 }),
      {
        ttlMs: 60_000,
        maxEntries: 10,
      },
    )
    const token = await signer.sign(CLAIMS)
    expect((await signer.verify(token)).sub).toBe('r1')
    const oldKid = (await signer.verify(token)).kid
    await rotateSigningKey(store)
    await removeSigningKey(store, oldKid)
    // Not yet re-read: the node still holds the old key (the fallback's window).
    expect((await signer.verify(token)).sub).toBe('r1')
    await new Promise((r) => setTimeout(r, 80))
    await expect(signer.verify(token)).rejects.toMatchObject({ code: 'ER_AUTH_TOKEN_INVALID' })
  })

  it('reloads at once on an announcement on the bus', async () => {
    const bus = createInProcessBus()
    const signer = withVerifyCache(await loadTokenSigner(store, { ttlSeconds: 600 }), {
      ttlMs: 60_000,
      maxEntries: 10,
    })
    await signer.watch(bus, (error) => {
      throw error
    })
    const token = await signer.sign(CLAIMS)
    const oldKid = (await signer.verify(token)).kid
    const newKid = await rotateSigningKey(store)
    await removeSigningKey(store, oldKid)
    await announceSigningKeysChange(bus)
    await expect.poll(() => signer.knowsKey(oldKid), { timeout: 1000 }).toBe(false)
    await expect(signer.verify(token)).rejects.toMatchObject({ code: 'ER_AUTH_TOKEN_INVALID' })
    const fresh = await signer.sign(CLAIMS)
    expect((await signer.verify(fresh)).kid).toBe(newKid)
    await signer.unwatch()
    await bus.close()
  })

  it('accepts every one of concurrent tokens signed elsewhere with a key it has not read yet', async () => {
    const signer = await loadTokenSigner(store, { ttlSeconds: 600 })
    await rotateSigningKey(store)
    const elsewhere = await (await otherNode(store)).sign(CLAIMS)
    const verified = await Promise.allSettled(
      Array.from({ length: 5 }, () => signer.verifySignature(elsewhere)),
    )
    expect(verified.map((v) => v.status)).toEqual(Array(5).fill('fulfilled'))
  })
})
