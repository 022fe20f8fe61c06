import { GraphiQL } from 'graphiql'
import 'graphiql/style.css'
import './graphql-explorer.css'
import { useEffect, useMemo, useRef } from 'react'
import { createExplorerFetcher } from './explorer-fetcher'
import { mendGraphiqlA11y } from './graphiql-a11y'

/** What a first visit finds in the editor: how the explorer decides who runs the query. */
const FIRST_QUERY = `# Queries run as the signed-in dashboard user, or anonymously when nobody is
# signed in. To run as someone else, add in Headers below:
#   { "Authorization": "Bearer <their token>" }
#
# Ctrl+Space completes collection and field names, Ctrl+Enter runs,
# and the Docs button (top left) lists what this caller may use.

query {
  __typename
}
`

/**
 * GraphiQL on the server's `/graphql`: highlighting, completion and docs from the live schema
 * as `token`'s holder sees it (a new token, a new fetcher: the schema and docs are read again).
 * This module is the only one that imports GraphiQL, and the dashboard loads it with `lazy()`,
 * so GraphiQL's code and styles are fetched the first time the explorer opens.
 *
 * @example
 *   const GraphqlExplorer = lazy(() => import('./features/graphql/graphql-explorer'))
 *   <Suspense fallback={…}><GraphqlExplorer token={currentToken()} /></Suspense>
 */
export default function GraphqlExplorer({ token }: { token: string | null }) {
  const container = useRef<HTMLDivElement>(null)
  const explorer = useMemo(() => createExplorerFetcher(token), [token])
  useEffect(() => mendGraphiqlA11y(container.current!), [])
  useEffect(() => () => explorer.dispose(), [explorer])
  useEffect(() => {
    const before = document.title
    document.title = 'GraphQL explorer · Engine Room'
    return () => {
      document.title = before
    }
  }, [])
  return (
    <div className="graphql-explorer" ref={container}>
      <GraphiQL
        fetcher={explorer.fetcher}
        defaultQuery={FIRST_QUERY}
        // The dashboard is light; GraphiQL's own theme switch would follow the OS instead.
        forcedTheme="light"
        // Headers may hold a token: kept in memory only, never in localStorage.
        shouldPersistHeaders={false}
        showPersistHeadersSettings={false}
      />
    </div>
  )
}
