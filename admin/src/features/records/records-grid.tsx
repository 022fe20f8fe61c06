import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react'
import { api, ApiProblem, type Collection, type RecordPage } from '../../lib/api'
import { useLiveChanges, type LiveChange } from '../../lib/use-live-changes'
import { RecordForm } from './record-form'

const PER_PAGE = 50

/**
 * The records of one collection over the list API: a filter in the API's own language (its
 * errors, with their position, shown as the server words them), sort by any column, and keyset
 * (cursor) paging, which stays as fast on the millionth record as on the first. Changes made
 * elsewhere (another tab, an app, a hook) arrive over the realtime feed and the page is read
 * again, so filter, sort and access rules apply to them as to everything else.
 */
export function RecordsGrid({
  collection,
  collections,
}: {
  collection: Collection
  collections: Collection[]
}) {
  const [filter, setFilter] = useState('')
  const [applied, setApplied] = useState('')
  const [sort, setSort] = useState('-created')
  const [cursors, setCursors] = useState<string[]>([])
  const [page, setPage] = useState<RecordPage | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [editing, setEditing] = useState<Record<string, unknown> | 'new' | null>(null)

  const columns = [
    'id',
    ...(collection.type === 'auth' ? ['email', 'verified'] : []),
    ...collection.fields.filter((f) => !f.hidden).map((f) => f.name),
    'created',
  ]

  const load = useCallback(async () => {
    const params = new URLSearchParams({ perPage: String(PER_PAGE), sort, count: 'true' })
    if (applied) params.set('filter', applied)
    const cursor = cursors.at(-1)
    if (cursor) params.set('cursor', cursor)
    try {
      setPage(
        await api<RecordPage>(
          'GET',
          `/api/collections/${encodeURIComponent(collection.name)}/records?${params}`,
        ),
      )
      setError(null)
    } catch (caught) {
      setError(caught instanceof ApiProblem ? caught.message : String(caught))
    }
  }, [collection.name, applied, sort, cursors])

  useEffect(() => {
    void load()
  }, [load])

  // A burst of changes (an import, a batch) is one reload, not one per change.
  const [lastChange, setLastChange] = useState<LiveChange | null>(null)
  const pending = useRef<ReturnType<typeof setTimeout> | undefined>(undefined)
  // The page as the grid shows it when the timer fires (filter, sort, cursor of that moment).
  const latestLoad = useRef(load)
  latestLoad.current = load
  const live = useLiveChanges(collection.name, (change) => {
    setLastChange(change)
    clearTimeout(pending.current)
    pending.current = setTimeout(() => void latestLoad.current(), 250)
  })
  useEffect(() => () => clearTimeout(pending.current), [])

  function applyFilter(event: FormEvent) {
    event.preventDefault()
    setCursors([])
    setApplied(filter.trim())
  }

  function sortBy(column: string) {
    setCursors([])
    setSort(sort === column ? `-${column}` : column)
  }

  async function remove(id: string) {
    if (!confirm(`Delete record ${id}?`)) return
    await api(
      'DELETE',
      `/api/collections/${encodeURIComponent(collection.name)}/records/${encodeURIComponent(id)}`,
    )
    await load()
  }

  return (
    <section aria-labelledby="records-title">
      <header className="bar">
        <h1 id="records-title">{collection.name}</h1>
        <span className={`live live-${live}`} data-testid="live-state">
          {live === 'live' ? 'Live' : live === 'connecting' ? 'Connecting…' : 'Offline, retrying'}
        </span>
        <a
          className="button secondary"
          href={`#/collections/${encodeURIComponent(collection.name)}/edit`}
        >
          Edit schema
        </a>
        <button type="button" onClick={() => setEditing('new')}>
          New record
        </button>
      </header>
      {editing && (
        <RecordForm
          collection={collection}
          collections={collections}
          record={editing === 'new' ? undefined : editing}
          onDone={() => {
            setEditing(null)
            void load()
          }}
        />
      )}
      <form onSubmit={applyFilter} className="filter" role="search">
        <label htmlFor="filter">Filter</label>
        <input
          id="filter"
          className="code"
          value={filter}
          placeholder={'status = "published" && views > 10'}
          onChange={(e) => setFilter(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'filter-error' : undefined}
          spellCheck={false}
        />
        <button type="submit">Apply</button>
      </form>
      {error && (
        <p id="filter-error" role="alert" className="error">
          {error}
        </p>
      )}
      <p className="muted" aria-live="polite">
        {page ? `${page.totalItems ?? page.items.length} record(s)` : 'Loading…'}
        {lastChange && ` · last change: ${lastChange.action} ${String(lastChange.record.id ?? '')}`}
      </p>
      {page && page.items.length === 0 && (
        <p className="empty">
          {applied
            ? 'No record matches this filter.'
            : 'No records yet. Add one with "New record".'}
        </p>
      )}
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              {columns.map((c) => (
                <th
                  key={c}
                  scope="col"
                  aria-sort={sort === c ? 'ascending' : sort === `-${c}` ? 'descending' : undefined}
                >
                  <button type="button" className="link" onClick={() => sortBy(c)}>
                    {c}
                    {sort === c ? ' ▲' : sort === `-${c}` ? ' ▼' : ''}
                  </button>
                </th>
              ))}
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {page?.items.map((item) => (
              <tr key={String(item.id)}>
                {columns.map((c) => (
                  <td key={c}>{show(item[c])}</td>
                ))}
                <td>
                  <button type="button" className="link" onClick={() => setEditing(item)}>
                    Edit
                  </button>{' '}
                  <button
                    type="button"
                    className="link danger"
                    onClick={() => void remove(String(item.id))}
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="bar">
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors([])}>
          First page
        </button>
        <button
          type="button"
          disabled={!page?.nextCursor}
          onClick={() => page?.nextCursor && setCursors([...cursors, page.nextCursor])}
        >
          Next page
        </button>
      </div>
    </section>
  )
}

function show(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}
