import { useCallback, useEffect, useState } from 'react'
import { api, type Collection } from '../../lib/api'
import { describe } from './user-detail'

interface Session {
  id: string
  created: string
  lastUsed: string
  expires: string
  userAgent: string
  ip: string
}

/** The account's live sessions (`GET /auth/sessions?record=`), each revocable, or all at once. */
export function UserSessions(props: {
  collection: Collection
  recordId: string
  onError(message: string): void
}) {
  const base = `/api/collections/${encodeURIComponent(props.collection.name)}/auth/sessions`
  const record = `record=${encodeURIComponent(props.recordId)}`
  const [sessions, setSessions] = useState<Session[] | null>(null)
  const { onError } = props

  const load = useCallback(async () => {
    try {
      setSessions((await api<{ items: Session[] }>('GET', `${base}?${record}`)).items)
    } catch (caught) {
      onError(describe(caught))
    }
  }, [base, record, onError])

  useEffect(() => {
    void load()
  }, [load])

  async function revoke(id?: string) {
    try {
      await api('DELETE', id ? `${base}/${encodeURIComponent(id)}?${record}` : `${base}?${record}`)
    } catch (caught) {
      onError(describe(caught))
    }
    await load()
  }

  return (
    <section aria-labelledby="sessions-title">
      <div className="bar">
        <h3 id="sessions-title">Sessions</h3>
        {sessions && sessions.length > 0 && (
          <button type="button" className="danger" onClick={() => void revoke()}>
            Revoke all sessions
          </button>
        )}
      </div>
      {sessions && sessions.length === 0 && <p className="empty">No live session.</p>}
      {sessions && sessions.length > 0 && (
        <table aria-labelledby="sessions-title">
          <thead>
            <tr>
              <th scope="col">Last used</th>
              <th scope="col">From</th>
              <th scope="col">Browser</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {sessions.map((s) => (
              <tr key={s.id}>
                <td>{new Date(s.lastUsed).toLocaleString()}</td>
                <td>{s.ip}</td>
                <td title={s.userAgent}>{s.userAgent || '(unknown)'}</td>
                <td>
                  <button
                    type="button"
                    className="link danger"
                    aria-label={`Revoke session ${s.id}`}
                    onClick={() => void revoke(s.id)}
                  >
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}
