/**
 * `serve --workers N`: one primary that prepares the database, then N worker processes that
 * each run the whole server on the shared port (node:cluster hands out connections). SQLite
 * stays correct across them through WAL, `BEGIN IMMEDIATE` and busy_timeout; realtime crosses
 * them over the cluster IPC bus, relayed by the primary.
 */
import cluster from 'node:cluster'
import { relayClusterBus } from './adapters/bus/cluster/cluster-bus.js'
import type { Config } from './config/config.js'
import { openEngine } from './main.js'

/** Runs in the primary; resolves with the URL once every worker listens. */
export async function startCluster(config: Config): Promise<{ url: string }> {
  // Migrations, the server secret and signing keys are created once, here, before any worker
  // races for them.
  const { engine } = await openEngine(config)
  await engine.close()
  relayClusterBus(cluster)
  let stopping = false
  const fork = () => cluster.fork({ ER_WORKER: '1' })
  const listening = Array.from(
    { length: config.workers },
    () => new Promise<void>((done) => fork().once('listening', () => done())),
  )
  // A worker that dies is replaced, unless the machine is stopping.
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return
    console.error(
      `engineroom: worker ${worker.process.pid} exited (${signal ?? code}); replacing it`,
    )
    fork()
  })
  const stop = () => {
    if (stopping) process.exit(1)
    stopping = true
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM')
    const check = setInterval(() => {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0)
    }, 50)
    check.unref()
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  await Promise.all(listening)
  return { url: `http://${config.http.host}:${config.http.port}` }
}
