/** Child process: Engine Room itself over its SQLite file, as `engineroom serve` would run it. */
import { openSqliteStore } from '../dist/adapters/store/sqlite/sqlite-store.js'
import { buildServer } from '../dist/http/server.js'
import { createEngine } from '../dist/services/create-engine.js'
import { serveChild } from './child-ipc.js'

serveChild(async ({ file, migrationsDir }) => {
  const store = await openSqliteStore({ file })
  const engine = await createEngine({ store, migrationsDir })
  const app = await buildServer(engine)
  await app.listen({ host: '127.0.0.1', port: 0 })
  return { port: app.server.address().port, info: {} }
})
