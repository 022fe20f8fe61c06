import cluster from 'node:cluster'
import type { Command } from 'commander'
import { PREPARE_ROLE, startCluster } from '../../main-cluster.js'
import {
  followLauncher,
  relaunchWithYoungGenerationCap,
} from '../relaunch-with-young-generation-cap.js'
import { loadMain } from './load-main.js'
import { configFrom, withDirOption } from './options.js'

export function registerServeCommand(program: Command): void {
  withDirOption(
    program
      .command('serve')
      .description(
        'Start the HTTP server (SQLite in the data directory unless DATABASE_URL is set).',
      )
      .option('--http <host:port>', 'address to listen on (env ER_HTTP, default 127.0.0.1:8090)')
      .option('--workers <n>', 'processes sharing the port (env ER_WORKERS, default 1)')
      .option(
        '--extensions <file>',
        'extension module with hooks and routes, .ts or .js (env ER_EXTENSIONS)',
      ),
  ).action(
    async (options: { dir?: string; http?: string; workers?: string; extensions?: string }) => {
      const config = configFrom(options)
      if (config.workers > 1 && cluster.isPrimary) {
        const { url } = await startCluster(config)
        console.log(`Engine Room is serving at ${url} with ${config.workers} workers`)
        return
      }
      // Before the server loads: in a launcher, the relaunched server does the serving.
      if (cluster.isPrimary) await relaunchWithYoungGenerationCap()
      followLauncher()
      const { openEngine, startServer } = await loadMain()
      if (process.env.ER_WORKER_ROLE === PREPARE_ROLE) {
        // The cluster's first worker: migrations, secret and signing keys, then it ends.
        try {
          await (await openEngine(config)).engine.close()
        } finally {
          cluster.worker?.disconnect()
        }
        return
      }
      const { url, setupToken } = await startServer(config)
      // In a worker the primary announces the machine once.
      if (cluster.isWorker) return
      const setup = setupToken
        ? `\n\nNo superuser yet. Create the first one here (the link works once, for an hour):\n  ${url}/_/setup#token=${setupToken}\nor run: npx engineroom superuser create <email> <password>`
        : ''
      console.log(
        `Engine Room is serving at ${url}  (dashboard ${url}/_/, API ${url}/api/, docs ${url}/api/docs)${setup}`,
      )
    },
  )
}
