import { useEffect, useState } from 'react'
import { api, ApiProblem, type Collection } from '../../lib/api'
import { UserApiKeys } from './user-api-keys'
import { UserSessions } from './user-sessions'

const path = (collection: Collection) => `/api/collections/${encodeURIComponent(collection.name)}`

/**
 * One account, as a superuser administers it: mark the address verified (a superuser may vouch
 * for it; the user cannot), its sessions, its two-factor sign-in and its API keys.
 */
export function UserDetail(props: {
  collection: Collection
  collections: Collection[]
  user: Record<string, unknown>
  onChanged(): void
}) {
  const { collection, user } = props
  const id = String(user.id)
  const [mfa, setMfa] = useState<{ enabled: boolean; recoveryCodesLeft: number } | null>(null)
  const [message, setMessage] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)

  const loadMfa = () =>
    api<{ enabled: boolean; recoveryCodesLeft: number }>(
      'GET',
      `${path(collection)}/auth/mfa?record=${encodeURIComponent(id)}`,
    )
      .then(setMfa)
      .catch((caught: unknown) => setError(describe(caught)))

  useEffect(() => {
    void loadMfa()
  }, [id])

  async function act(work: () => Promise<unknown>, done: string) {
    setError(null)
    setMessage(null)
    try {
      await work()
      setMessage(done)
    } catch (caught) {
      setError(describe(caught))
    }
  }

  const verify = () =>
    act(
      async () => {
        await api('PATCH', `${path(collection)}/records/${encodeURIComponent(id)}`, {
          verified: true,
        })
        props.onChanged()
      },
      `${String(user.email)} is verified.`,
    )

  const resetMfa = () => {
    if (
      !confirm(
        `Turn off two-factor sign-in for ${String(user.email)}? They will sign in with their password alone until they enrol again.`,
      )
    )
      return
    void act(async () => {
      await api('POST', `${path(collection)}/auth/mfa/reset`, { record: id })
      await loadMfa()
    }, 'Two-factor sign-in is off; the user may enrol again.')
  }

  return (
    <aside className="card user-detail" aria-labelledby="user-title">
      <h2 id="user-title">{String(user.email)}</h2>
      <p className="muted code">{id}</p>
      <p aria-live="polite" className="notice">
        {message}
      </p>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <h3>E-mail</h3>
      <p>
        {user.verified ? 'Verified.' : 'Not verified yet.'}{' '}
        {!user.verified && (
          <button type="button" onClick={() => void verify()}>
            Mark verified
          </button>
        )}
      </p>
      <h3>Two-factor sign-in</h3>
      <p>
        {mfa === null
          ? 'Loading…'
          : mfa.enabled
            ? `On (TOTP), ${mfa.recoveryCodesLeft} recovery code(s) left.`
            : 'Off.'}{' '}
        {mfa?.enabled && (
          <button type="button" className="danger" onClick={resetMfa}>
            Reset two-factor
          </button>
        )}
      </p>
      <UserSessions collection={collection} recordId={id} onError={setError} />
      <UserApiKeys
        collection={collection}
        collections={props.collections}
        recordId={id}
        onError={setError}
      />
    </aside>
  )
}

export function describe(caught: unknown): string {
  if (!(caught instanceof ApiProblem)) return String(caught)
  const fields = Object.entries(caught.errors).map(([k, v]) => `${k}: ${v[0]?.message ?? ''}`)
  return [caught.message, ...fields].join(' ')
}
