import { useState, type FormEvent } from 'react'
import { api, ApiProblem, setToken } from '../../lib/api'

type SignedIn = { token: string; record: { email: string } }
type Challenge = { mfaRequired: true; mfaToken: string }

const BASE = '/api/collections/_superusers/auth'

/** Superuser sign-in: password, then the TOTP code when the account has MFA on. */
export function SignIn({ onSignedIn }: { onSignedIn(email: string): void }) {
  const [mfaToken, setMfaToken] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const form = new FormData(event.currentTarget)
    setBusy(true)
    setError(null)
    try {
      const answer = mfaToken
        ? await api<SignedIn>('POST', `${BASE}/mfa/verify`, { mfaToken, code: form.get('code') })
        : await api<SignedIn | Challenge>('POST', `${BASE}/password`, {
            identity: form.get('email'),
            password: form.get('password'),
          })
      if ('mfaRequired' in answer) {
        setMfaToken(answer.mfaToken)
        return
      }
      setToken(answer.token)
      onSignedIn(answer.record.email)
    } catch (caught) {
      setError(caught instanceof ApiProblem ? caught.message : 'The server could not be reached.')
    } finally {
      setBusy(false)
    }
  }

  return (
    <main className="centered">
      <h1>Engine Room</h1>
      <form onSubmit={submit} className="card" aria-label="Sign in">
        {mfaToken ? (
          <>
            <p>Enter the 6-digit code from your authenticator app.</p>
            <label htmlFor="code">Code</label>
            <input
              id="code"
              name="code"
              inputMode="numeric"
              autoComplete="one-time-code"
              required
              autoFocus
            />
          </>
        ) : (
          <>
            <label htmlFor="email">E-mail</label>
            <input
              id="email"
              name="email"
              type="email"
              autoComplete="username"
              required
              autoFocus
            />
            <label htmlFor="password">Password</label>
            <input
              id="password"
              name="password"
              type="password"
              autoComplete="current-password"
              required
            />
          </>
        )}
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {mfaToken ? 'Verify' : 'Sign in'}
        </button>
      </form>
    </main>
  )
}
