import { watch } from 'node:fs'
import { dirname, resolve } from 'node:path'
import type { Command } from 'commander'
import type { Engine } from '../../services/create-engine.js'
import { loadMain } from './load-main.js'
import { configFrom, withDirOption } from './options.js'

/** Quiet time after the last change before reloading (an editor saves in several writes). */
const DEBOUNCE_MS = 150

/**
 * `engineroom dev`: `serve` in one process that reloads the extension when a file in its folder
 * changes. Open connections (keep-alive, realtime streams, GraphQL sockets) stay up: the hooks
 * and route handlers are swapped inside the running engine. A reload that fails to compile or
 * set up is reported and the previous extension keeps running.
 */
export function registerDevCommand(program: Command): void {
  withDirOption(
    program
      .command('dev')
      .description('Serve, reloading the extension (--extensions) whenever its files change.')
      .option('--http <host:port>', 'address to listen on (env ER_HTTP, default 127.0.0.1:8090)')
      .option('--extensions <file>', 'extension module, .ts or .js (env ER_EXTENSIONS)'),
  ).action(async (options: { dir?: string; http?: string; extensions?: string }) => {
    const config = configFrom({ ...options, workers: '1' })
    const { startServer } = await loadMain()
    const { engine, url } = await startServer(config)
    const file = config.extensions
    console.log(
      `Engine Room is serving at ${url}  (dev: ${file ? `watching ${dirname(resolve(file))}` : 'no --extensions given'})`,
    )
    if (file) watchExtension(resolve(file), engine)
  })
}

function watchExtension(file: string, engine: Engine): void {
  let timer: NodeJS.Timeout | undefined
  let reloading = Promise.resolve()
  const reload = async () => {
    const { loadExtension } = await import('../../services/extensions/load-extension.js')
    try {
      const extension = await loadExtension(file)
      const result = await engine.extension?.reload(extension.setup)
      console.log(
        result?.routesChanged
          ? 'engineroom dev: extension reloaded; routes were added, removed or changed their schemas: restart to serve them'
          : 'engineroom dev: extension reloaded',
      )
    } catch (error) {
      console.error(
        `engineroom dev: the extension was not reloaded: ${error instanceof Error ? error.message : String(error)}`,
      )
      if (error instanceof Error && error.cause instanceof Error) console.error(error.cause.stack)
    }
  }
  // The folder, recursively: the module's own imports live beside it. Hidden files are skipped,
  // among them the compiled copies loadExtension writes and removes.
  watch(dirname(file), { recursive: true }, (_event, name) => {
    const path = String(name ?? '')
    if (path.split(/[\\/]/).some((part) => part.startsWith('.') || part === 'node_modules')) return
    clearTimeout(timer)
    timer = setTimeout(() => {
      reloading = reloading.then(reload)
    }, DEBOUNCE_MS)
  })
}
