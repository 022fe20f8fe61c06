import type { Command } from 'commander'
import { loadMain } from './load-main.js'
import { configFrom, withDirOption } from './options.js'

/**
 * `engineroom worker`: runs background jobs, cron schedules and webhook deliveries without
 * serving HTTP, beside one or more `serve` processes (which may run `ER_JOBS_CONCURRENCY=0`).
 * SIGTERM or SIGINT stops taking jobs and waits for the running ones.
 */
export function registerWorkerCommand(program: Command): void {
  withDirOption(
    program
      .command('worker')
      .description('Run background jobs, cron schedules and webhook deliveries (no HTTP).')
      .option('--concurrency <n>', 'jobs at once (env ER_JOBS_CONCURRENCY, default 4)'),
  ).action(async (options: { dir?: string; concurrency?: string }) => {
    const config = configFrom(options)
    const concurrency =
      options.concurrency === undefined ? config.jobs.concurrency : Number(options.concurrency)
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000) {
      console.error('engineroom: --concurrency is a whole number from 1 to 1000.')
      process.exitCode = 2
      return
    }
    // Realtime events go to serve's clients only over a shared (Redis) bus: without one, this
    // process leaves dispatching to the servers. The bus is under the deployment's prefix, as
    // serve's is: on a bare `er:` no serve node of this deployment would hear it.
    const { engine, description, close } = await (await loadMain()).openEngineBesideServers(config)
    engine.jobs.startWorkers(concurrency)
    console.log(
      `Engine Room worker running ${concurrency} jobs at once on ${description} (${engine.jobs.queue.kind} queue)`,
    )
    let stopping = false
    const stop = async (signal: string) => {
      if (stopping) process.exit(1)
      stopping = true
      console.log(`engineroom worker: ${signal}: finishing running jobs…`)
      await close()
      process.exit(0)
    }
    process.on('SIGTERM', () => void stop('SIGTERM'))
    process.on('SIGINT', () => void stop('SIGINT'))
  })
}
