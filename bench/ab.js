/**
 * A/B: Engine Room built from two checkouts, loaded the same way in turn, to tell whether a
 * change moved the CPU cost per request. `run.js` compares the engine with the raw floor; on a
 * shared machine its runs drift by more than most single changes move. Here both builds serve
 * from one process, each round loads A then B (then B then A), and the table shows the median
 * CPU µs per request of each and their ratio: the noise of the machine hits both alike.
 *
 *   npm run build
 *   git archive <rev> | tar -x -C /tmp/base && ln -s $PWD/node_modules /tmp/base/
 *   (cd /tmp/base && npm run build)
 *   node --expose-gc bench/ab.js /tmp/base .
 *
 * Needs Debian's `wrk` (the load generator: cheaper than autocannon, so the servers get the
 * CPU). Environment: AB_ROUNDS (6), AB_SECONDS (2), AB_RECORDS (20,000 posts),
 * AB_ONLY (get,list,deep,expand,graphql,create).
 */
import { spawn } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { seed, SUPERUSER } from './seed.js'

const [rootA, rootB] = process.argv.slice(2).map((path) => resolve(path))
if (!rootA || !rootB) {
  console.error('Usage: node --expose-gc bench/ab.js <checkout A> <checkout B> (each built)')
  process.exit(2)
}
const env = process.env
const rounds = Number(env.AB_ROUNDS ?? 6)
const seconds = Number(env.AB_SECONDS ?? 2)
const only = (env.AB_ONLY ?? 'get,list,deep,expand,graphql,create').split(',')

const FILTER = 'status = "published" && views > 100'
const LIST = `/api/collections/posts/records?filter=${encodeURIComponent(FILTER)}&sort=-views&perPage=20`
const GRAPHQL = JSON.stringify({
  query: `query ($filter: String, $sort: String, $perPage: Int) {
    posts(filter: $filter, sort: $sort, perPage: $perPage) {
      items { id created updated title status views author writer { id created updated name } }
    } }`,
  variables: { filter: FILTER, sort: '-views', perPage: 20 },
})
const post = (body) =>
  `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ${JSON.stringify(body)}\n`

const dir = mkdtempSync(join(tmpdir(), 'engineroom-ab-'))
process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
console.log(`Seeding ${env.AB_RECORDS ?? 20000} posts in ${dir}`)
const seeded = await seed({ dir, count: Number(env.AB_RECORDS ?? 20000), log: () => {} })

/** One engine from `root`'s build, as bench/engine-server.js runs it, with a deep cursor. */
async function start(name, root) {
  const file = join(dir, name, 'data.db')
  mkdirSync(join(dir, name))
  copyFileSync(seeded.engineFile, file)
  const load = (path) => import(join(root, 'dist', path))
  const { openSqliteStore } = await load('adapters/store/sqlite/sqlite-store.js')
  const { buildServer } = await load('http/server.js')
  const { createEngine } = await load('services/create-engine.js')
  const { createInProcessBus } = await load('adapters/bus/in-process/in-process-bus.js')
  const engine = await createEngine({
    store: await openSqliteStore({ file }),
    migrationsDir: join(dir, `migrations-${name}`),
    bus: createInProcessBus(),
    realtime: { maxConnectionsPerUser: 1_000_000, maxConnectionsPerAddress: 1_000_000 },
  })
  const app = await buildServer(engine)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const login = await app.inject({
    method: 'POST',
    url: '/api/collections/_superusers/auth/password',
    payload: { identity: SUPERUSER.identity, password: SUPERUSER.password },
  })
  const token = JSON.parse(login.body).token
  let cursor = ''
  for (let page = 0; page < 100; page++) {
    const res = await app.inject({
      url: `${LIST}${cursor ? `&cursor=${cursor}` : ''}`,
      headers: { authorization: `Bearer ${token}` },
    })
    const next = JSON.parse(res.body).nextCursor
    if (!next) break
    cursor = next
  }
  return {
    name,
    app,
    engine,
    token,
    port: app.server.address().port,
    deep: `${LIST}&cursor=${cursor}`,
  }
}

const scenarios = {
  get: () => ({ path: `/api/collections/posts/records/${seeded.sampleIds[7]}` }),
  list: () => ({ path: LIST }),
  deep: (server) => ({ path: server.deep }),
  expand: () => ({ path: `${LIST}&expand=writer` }),
  graphql: () => ({ path: '/graphql', lua: post(GRAPHQL) }),
  create: () => ({
    path: '/api/collections/posts/records',
    lua: post('{"title":"A new post","status":"draft","views":3,"author":"author-1"}'),
  }),
}

/** Requests served in `seconds` by wrk (1 thread, 10 connections) and this process's CPU µs. */
function load(server, { path, lua }) {
  const args = ['-t1', '-c10', `-d${seconds}s`, '-H', `Authorization: Bearer ${server.token}`]
  if (lua) {
    const script = join(dir, 'request.lua')
    writeFileSync(script, lua)
    args.push('-s', script)
  }
  args.push(`http://127.0.0.1:${server.port}${path}`)
  const before = process.cpuUsage()
  return new Promise((done, fail) => {
    const child = spawn('wrk', args)
    let out = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    child.once('error', fail)
    child.once('exit', () => {
      const cpu = process.cpuUsage(before)
      const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0)
      if (/Non-2xx/.test(out) || requests === 0) fail(new Error(`${server.name} ${path}:\n${out}`))
      else done((cpu.user + cpu.system) / requests)
    })
  })
}

const servers = [await start('A', rootA), await start('B', rootB)]
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
console.log(`A = ${rootA}\nB = ${rootB}\n`)
console.log('scenario  A µs/req  B µs/req  B/A    (each round, A | B)')
for (const name of only) {
  const scenario = scenarios[name]
  if (!scenario) throw new Error(`unknown scenario ${name}`)
  const cost = { A: [], B: [] }
  for (const server of servers) await load(server, scenario(server)) // warm-up
  for (let round = 0; round < rounds; round++) {
    for (const server of round % 2 ? [...servers].reverse() : servers) {
      global.gc?.()
      cost[server.name].push(await load(server, scenario(server)))
    }
  }
  const [a, b] = [median(cost.A), median(cost.B)]
  const each = (values) => values.map((v) => v.toFixed(0)).join(' ')
  console.log(
    `${name.padEnd(9)} ${a.toFixed(1).padStart(8)}  ${b.toFixed(1).padStart(8)}  ${(b / a).toFixed(2)}   ${each(cost.A)} | ${each(cost.B)}`,
  )
}
for (const server of servers) {
  await server.app.close()
  await server.engine.close()
}
