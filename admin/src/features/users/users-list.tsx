import { useEffect, useState } from 'react'
import { api, ApiProblem, type Collection, type RecordPage } from '../../lib/api'

/** The records of every auth collection (users, superusers …), with their verified state. */
export function UsersList({ collections }: { collections: Collection[] }) {
  const auth = collections.filter((c) => c.type === 'auth')
  const [name, setName] = useState(
    auth.find((c) => c.name === 'users')?.name ?? auth[0]?.name ?? '',
  )
  const [page, setPage] = useState<RecordPage | null>(null)
  const [error, setError] = useState<string | null>(null)

  useEffect(() => {
    if (!name) return
    api<RecordPage>(
      'GET',
      `/api/collections/${encodeURIComponent(name)}/records?perPage=100&sort=email`,
    )
      .then((p) => {
        setPage(p)
        setError(null)
      })
      .catch((caught: unknown) =>
        setError(caught instanceof ApiProblem ? caught.message : String(caught)),
      )
  }, [name])

  return (
    <section aria-labelledby="users-title">
      <header className="bar">
        <h1 id="users-title">Users</h1>
        <label htmlFor="auth-collection">Collection</label>
        <select id="auth-collection" value={name} onChange={(e) => setName(e.target.value)}>
          {auth.map((c) => (
            <option key={c.id}>{c.name}</option>
          ))}
        </select>
      </header>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {page && page.items.length === 0 && (
        <p className="empty">Nobody has signed up to {name} yet.</p>
      )}
      <table>
        <thead>
          <tr>
            <th scope="col">E-mail</th>
            <th scope="col">Verified</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {page?.items.map((u) => (
            <tr key={String(u.id)}>
              <td>{String(u.email)}</td>
              <td>{u.verified ? 'yes' : 'no'}</td>
              <td>{String(u.created)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}
