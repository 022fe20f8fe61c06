/**
 * `serve --workers N`: one primary that has a first worker prepare the database, then forks N
 * worker processes that each run the whole server on the shared port (node:cluster hands out
 * connections). SQLite stays correct across them through WAL, `BEGIN IMMEDIATE` and
 * busy_timeout; realtime crosses them over the cluster IPC bus, relayed by the primary.
 *
 * The primary never loads the server or the engine (see cli/commands/load-main.ts): it only
 * forks and relays, and stays at a bare Node process's memory instead of a server's.
 */
import cluster from 'node:cluster'
import { relayClusterBus } from './adapters/bus/cluster/cluster-bus.js'
import type { Config } from './config/config.js'
import { withYoungGenerationCap } from './young-generation.js'

/** `ER_WORKER_ROLE` of the worker that prepares the database and ends. */
export const PREPARE_ROLE = 'prepare'

/** Runs in the primary; resolves with the URL once every worker listens. */
export async function startCluster(config: Config): Promise<{ url: string }> {
  cluster.setupPrimary({ execArgv: withYoungGenerationCap(process.execArgv) })
  // Migrations, the server secret and signing keys are created once, before any worker races
  // for them. Its error, if any, is on stderr already (the worker shares it).
  const prepared = await new Promise<number | null>((done) =>
    cluster.fork({ ER_WORKER_ROLE: PREPARE_ROLE }).once('exit', (code) => done(code)),
  )
  if (prepared !== 0) {
    console.error('engineroom: the database could not be prepared (see above); no worker started.')
    process.exit(prepared ?? 1)
  }
  relayClusterBus(cluster)
  let stopping = false
  const fork = () => cluster.fork()
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
