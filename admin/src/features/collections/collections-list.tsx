import type { Collection } from '../../lib/api'

/** Every collection with its record count link; the empty state says what to do next. */
export function CollectionsList({ collections }: { collections: Collection[] }) {
  const own = collections.filter((c) => !c.system)
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
