import { useEffect, useState, type FormEvent } from 'react'
import { api, ApiProblem, type Collection, type RecordPage } from '../../lib/api'
import { UserDetail } from './user-detail'

/** A filter-language string literal (`\"` and `\\` are its escapes). */
const quoted = (text: string) => `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`

/**
 * The records of every auth collection (users, superusers …): search by e-mail, and for one
 * account (`#/users/<collection>/<id>`) its verification, sessions, two-factor and API keys.
 */
export function UsersList(props: {
  collections: Collection[]
  collectionName?: string | undefined
  recordId?: string | undefined
}) {
  const auth = props.collections.filter((c) => c.type === 'auth')
  const name =
    props.collectionName ?? auth.find((c) => c.name === 'users')?.name ?? auth[0]?.name ?? ''
  const collection = auth.find((c) => c.name === name)
  const [search, setSearch] = useState('')
  const [applied, setApplied] = useState('')
  const [page, setPage] = useState<RecordPage | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [version, setVersion] = useState(0)

  useEffect(() => {
    if (!name) return
    const params = new URLSearchParams({ perPage: '100', sort: 'email' })
    if (applied) params.set('filter', `email ~ ${quoted(applied)}`)
    api<RecordPage>('GET', `/api/collections/${encodeURIComponent(name)}/records?${params}`)
      .then((p) => {
        setPage(p)
        setError(null)
      })
      .catch((caught: unknown) =>
        setError(caught instanceof ApiProblem ? caught.message : String(caught)),
      )
  }, [name, applied, version])

  function find(event: FormEvent) {
    event.preventDefault()
    setApplied(search.trim())
  }

  // The account a link names, even when it is not on the page listed.
  const [named, setNamed] = useState<Record<string, unknown> | null>(null)
  const listed = page?.items.find((u) => u.id === props.recordId)
  useEffect(() => {
    if (!props.recordId || !name || listed) return
    api<Record<string, unknown>>(
      'GET',
      `/api/collections/${encodeURIComponent(name)}/records/${encodeURIComponent(props.recordId)}`,
    )
      .then(setNamed)
      .catch(() => setNamed(null))
  }, [name, props.recordId, listed, version])
  const selected = listed ?? (named?.id === props.recordId ? named : undefined)
  return (
    <section aria-labelledby="users-title">
      <header className="bar">
        <h1 id="users-title">Users</h1>
        <label htmlFor="auth-collection">Collection</label>
        <select
          id="auth-collection"
          value={name}
          onChange={(e) => (location.hash = `#/users/${encodeURIComponent(e.target.value)}`)}
        >
          {auth.map((c) => (
            <option key={c.id}>{c.name}</option>
          ))}
        </select>
      </header>
      <form onSubmit={find} className="filter" role="search" aria-label="Find users">
        <label htmlFor="user-search">E-mail contains</label>
        <input id="user-search" value={search} onChange={(e) => setSearch(e.target.value)} />
        <button type="submit">Find</button>
      </form>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {page && page.items.length === 0 && (
        <p className="empty">
          {applied
            ? 'Nobody matches. Try part of the address.'
            : `Nobody has signed up to ${name} yet.`}
        </p>
      )}
      <div className="users-layout">
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">E-mail</th>
                <th scope="col">Verified</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {page?.items.map((u) => (
                <tr key={String(u.id)} aria-current={u.id === props.recordId ? 'true' : undefined}>
                  <td>{String(u.email)}</td>
                  <td>{u.verified ? 'yes' : 'no'}</td>
                  <td>{String(u.created).slice(0, 10)}</td>
                  <td>
                    <a
                      href={`#/users/${encodeURIComponent(name)}/${encodeURIComponent(String(u.id))}`}
                      aria-label={`Manage ${String(u.email)}`}
                    >
                      Manage
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {collection && selected && (
          <UserDetail
            key={String(selected.id)}
            collection={collection}
            collections={props.collections}
            user={selected}
            onChanged={() => setVersion(version + 1)}
          />
        )}
      </div>
    </section>
  )
}
