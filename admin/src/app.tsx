import { lazy, Suspense, useEffect, useState } from 'react'
import { api, currentToken, setToken, type Collection } from './lib/api'
import { navigate, useHashRoute } from './lib/use-hash-route'
import { SignIn } from './features/auth/sign-in'
import { CollectionEditor } from './features/collections/collection-editor'
import { CollectionsList } from './features/collections/collections-list'
import { RecordsGrid } from './features/records/records-grid'
import { UsersList } from './features/users/users-list'
import { MetricsPage } from './features/metrics/metrics-page'
import { LogViewer } from './features/logs/log-viewer'
import { SettingsPage } from './features/settings/settings-page'

// GraphiQL is most of the dashboard's weight: fetched only when the explorer opens.
const GraphqlExplorer = lazy(() => import('./features/graphql/graphql-explorer'))

/**
 * The explorer, with a placeholder while its code loads. `token`: null once signed out, even
 * while an expired token is still in storage, so anonymous queries carry none.
 */
function Explorer({ token }: { token: string | null }) {
  return (
    <Suspense fallback={<p className="graphql-explorer loading">Loading the GraphQL explorer…</p>}>
      <GraphqlExplorer token={token} />
    </Suspense>
  )
}

/**
 * The shell: sign-in until there is a token, then the navigation and the routed screen. The
 * GraphQL explorer (`#/graphql`, where `GET /graphql` sends a browser) opens without signing in
 * too, running queries anonymously, as any page of an app would.
 */
export function App() {
  const [email, setEmail] = useState<string | null>(() => (currentToken() ? '' : null))
  const [collections, setCollections] = useState<Collection[]>([])
  const route = useHashRoute()

  async function reload() {
    const page = await api<{ items: Collection[] }>('GET', '/api/collections')
    setCollections(page.items)
  }

  useEffect(() => {
    const out = () => setEmail(null)
    window.addEventListener('engineroom:signed-out', out)
    return () => window.removeEventListener('engineroom:signed-out', out)
  }, [])
  useEffect(() => {
    if (email !== null) void reload().catch(() => {})
  }, [email])

  const [area, name, view] = route
  const collection = collections.find((c) => c.name === name)
  // A link to a collection made since the list was read (by another tab, the API, the CLI).
  const unknown = email !== null && area === 'collections' && name !== undefined && !collection
  useEffect(() => {
    if (unknown) void reload().catch(() => {})
  }, [unknown, name])

  async function signOut() {
    await api('POST', '/api/collections/_superusers/auth/logout', {}).catch(() => {})
    setToken(null)
    setEmail(null)
  }

  if (email === null && area === 'graphql') {
    return (
      <div className="explorer-page">
        <header className="explorer-bar">
          <strong>Engine Room · GraphQL explorer</strong>
          <span>
            Running anonymously. <a href="#/">Sign in to the dashboard</a> to run as a superuser.
          </span>
        </header>
        <main className="explorer-main">
          <Explorer token={null} />
        </main>
      </div>
    )
  }
  if (email === null) return <SignIn onSignedIn={setEmail} />

  let screen
  if (area === 'graphql') screen = <Explorer token={currentToken()} />
  else if (area === 'metrics') screen = <MetricsPage />
  else if (area === 'logs') screen = <LogViewer />
  else if (area === 'settings') screen = <SettingsPage />
  else if (area === 'users')
    screen = <UsersList collections={collections} collectionName={name} recordId={view} />
  else if (area === 'new') screen = <CollectionEditor collections={collections} onSaved={reload} />
  else if (area === 'collections' && collection && view === 'edit')
    screen = (
      <CollectionEditor
        key={collection.name}
        collection={collection}
        collections={collections}
        onSaved={reload}
      />
    )
  else if (area === 'collections' && collection)
    screen = <RecordsGrid key={collection.name} collection={collection} collections={collections} />
  else screen = <CollectionsList collections={collections} />

  return (
    <div className="shell">
      <nav aria-label="Main">
        <a className="brand" href="#/">
          Engine Room
        </a>
        <a href="#/">Collections</a>
        <a href="#/users">Users</a>
        <a href="#/metrics">Metrics</a>
        <a href="#/logs">Logs</a>
        <a href="#/graphql">GraphQL</a>
        <a href="#/settings">Settings</a>
        <div className="spacer" />
        <span className="who">{email}</span>
        <button type="button" onClick={() => void signOut()}>
          Sign out
        </button>
      </nav>
      <main className={area === 'graphql' ? 'explorer-main' : undefined}>{screen}</main>
    </div>
  )
}

export { navigate }
