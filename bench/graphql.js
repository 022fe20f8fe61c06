/**
 * The GraphQL row: the filtered list with one nested relation through POST /graphql, against
 * the same page through REST with `expand=writer`, both on the engine in the same run. The
 * ratio is what the GraphQL layer (parse, validate, execute, serialise) costs over REST.
 */
import { measureAgainst } from './measure.js'

const QUERY = `query Bench($filter: String, $sort: String, $perPage: Int) {
  posts(filter: $filter, sort: $sort, perPage: $perPage) {
    page perPage nextCursor
    items { id created updated title status views author writer { id created updated name } }
  }
}`

const VARIABLES = { filter: 'status = "published" && views > 100', sort: '-views', perPage: 20 }

export async function measureGraphql(engine, auth, warnings, settings, restPath) {
  const body = JSON.stringify({ query: QUERY, variables: VARIABLES })
  const headers = { ...auth, 'content-type': 'application/json' }
  const graphql = {
    name: 'graphql list + relation',
    requests: () => [{ method: 'POST', path: '/graphql', headers, body }],
  }
  const rest = {
    name: 'graphql list + relation',
    requests: () => [{ method: 'GET', path: restPath, headers: auth }],
  }
  await checkSameAnswer(engine, { body, headers, auth, restPath }, warnings)
  return measureAgainst(
    engine,
    [
      ['engine GraphQL', graphql],
      ['engine REST expand', rest],
    ],
    settings,
  )
}

/** Both requests must return the same records with the same related writers. */
async function checkSameAnswer(engine, { body, headers, auth, restPath }, warnings) {
  const viaGraphql = await fetch(`${engine.url}/graphql`, { method: 'POST', headers, body })
  const viaRest = await fetch(engine.url + restPath, { headers: auth })
  const g = await viaGraphql.json()
  const r = await viaRest.json()
  const fromGraphql = (g.data?.posts?.items ?? []).map((p) => `${p.id}/${p.writer?.name}`)
  const fromRest = (r.items ?? []).map((p) => `${p.id}/${p.expand?.writer?.name}`)
  if (
    viaGraphql.status !== 200 ||
    g.errors ||
    fromGraphql.length === 0 ||
    JSON.stringify(fromGraphql) !== JSON.stringify(fromRest)
  ) {
    warnings.push(
      `graphql: GraphQL and REST answers differ (${viaGraphql.status} ${JSON.stringify(g.errors ?? fromGraphql.slice(0, 3))} / ${fromRest.slice(0, 3)})`,
    )
    console.log(`WARNING ${warnings.at(-1)}`)
  }
}
