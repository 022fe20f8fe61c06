import { hash, verify } from '@node-rs/argon2'

/** `Algorithm.Argon2id`; the package exports it as an ambient const enum, which ESM cannot import. */
const ARGON2ID = 2

/** Hashes and checks passwords; the hash string carries its own parameters and salt. */
export interface PasswordHasher {
  hash(password: string): Promise<string>
  verify(hash: string, password: string): Promise<boolean>
}

/**
 * argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane) unless told otherwise.
 * Hashing runs on libuv's thread pool, not the event loop.
 *
 * @example
 *   const hasher = createArgon2Hasher()
 *   await hasher.verify(await hasher.hash('correct horse'), 'correct horse') // true
 */
export function createArgon2Hasher(
  options: { memoryCost?: number; timeCost?: number } = {},
): PasswordHasher {
  const params = {
    algorithm: ARGON2ID,
    memoryCost: options.memoryCost ?? 19_456,
    timeCost: options.timeCost ?? 2,
    parallelism: 1,
  }
  return {
    hash: (password) => hash(password, params),
    async verify(stored, password) {
      try {
        return await verify(stored, password)
      } catch {
        // A malformed stored hash is a failed check, never a crash or a hint.
        return false
      }
    },
  }
}
