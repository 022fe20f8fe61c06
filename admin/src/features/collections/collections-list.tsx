import { useEffect, useState } from 'react'
import type { Collection } from '../../lib/api'

/**
 * Whether this server serves the career hub's page: it does exactly when its database holds the
 * template, and answers 404 at `/hub/` otherwise, so the server decides, not a guess from names.
 */
function useHubPage(): boolean {
  const [served, setServed] = useState(false)
  useEffect(() => {
    let live = true
    fetch('/hub/', { method: 'HEAD' })
      .then((res) => live && setServed(res.ok))
      .catch(() => undefined)
    return () => {
      live = false
    }
  }, [])
  return served
}

/**
 * Every collection with its record count link. The empty state says what to do next, including
 * the example app (a first run is when a newcomer most wants one); with the example loaded, a
 * link to its page.
 */
export function CollectionsList({ collections }: { collections: Collection[] }) {
  const own = collections.filter((c) => !c.system)
  const hubPage = useHubPage()
  return (
    <section aria-labelledby="collections-title">
      <header className="bar">
        <h1 id="collections-title">Collections</h1>
        <a className="button" href="#/new">
          New collection
        </a>
      </header>
      {own.length === 0 && (
        <p className="empty">No collections yet. Create one to start storing records.</p>
      )}
      {own.length <= 1 && !hubPage && (
        <p className="muted" id="template-hint">
          Or explore a complete example first: <code>npm run demo</code> from a clone, or{' '}
          <code>npx engineroom init --template career-hub --dir demo_data</code> then{' '}
          <code>ER_PAYMENTS_PROVIDER=test npx engineroom serve --dir demo_data</code>: the career
          hub, with access rules, files, payments and a public page at <code>/hub/</code>.
        </p>
      )}
      {hubPage && (
        <p className="muted" id="hub-link">
          This database holds the career hub example: see its public page at{' '}
          <a href="/hub/">/hub/</a>, a client of this API.
        </p>
      )}
      <ul className="list">
        {collections.map((c) => (
          <li key={c.id}>
            <a href={`#/collections/${encodeURIComponent(c.name)}`}>{c.name}</a>
            <span className="muted">
              {c.type} · {c.fields.length} field{c.fields.length === 1 ? '' : 's'}
            </span>
            {!c.system && (
              <a className="muted" href={`#/collections/${encodeURIComponent(c.name)}/edit`}>
                Edit schema
              </a>
            )}
          </li>
        ))}
      </ul>
    </section>
  )
}
