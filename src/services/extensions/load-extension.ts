import { existsSync } from 'node:fs'
import { unlink, writeFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { ExtensionSetup } from './extension-api.js'
import { ExtensionLoadError } from './extension-registrations.js'

/** An extension module ready for `createEngine({ extension })`. */
export interface LoadedExtension {
  /**
   * Keys the outbox cursor of its after hooks: `main`, the server's one extension, whatever the
   * file is called (renaming the file must not skip the changes its hooks have yet to see).
   */
  name: string
  setup: ExtensionSetup
  /** The absolute path it was loaded from. */
  file: string
}

export { ExtensionLoadError }

let generation = 0

/**
 * Loads an extension module (`.ts`, `.mts`, `.js`, `.mjs`): esbuild bundles its own files (the
 * packages it imports stay imports, resolved from its folder as usual) into an ES module written
 * beside it under a unique hidden name, imported, then deleted. Source maps are kept inline and
 * Node's source-map support is turned on, so a hook's stack trace names the user's file and line.
 * Each load is a fresh module (`engineroom dev` reloads by loading again).
 *
 * `import … from 'engineroom'` in the module resolves to this running engine, wherever the
 * module lives.
 *
 * @example
 *   const extension = await loadExtension('./extensions/index.ts')
 *   const engine = await createEngine({ store, migrationsDir, extension })
 */
export async function loadExtension(file: string): Promise<LoadedExtension> {
  const path = resolve(file)
  if (!existsSync(path)) {
    throw new ExtensionLoadError(
      `No extension file at ${path}. Check --extensions / ER_EXTENSIONS.`,
    )
  }
  process.setSourceMapsEnabled(true)
  const { build } = await import('esbuild')
  const out = join(dirname(path), `.${basename(path)}.${process.pid}-${++generation}.mjs`)
  let text: string
  try {
    const result = await build({
      entryPoints: [path],
      outfile: out,
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'inline',
      write: false,
      logLevel: 'silent',
      plugins: [
        {
          name: 'engineroom-self',
          setup(b) {
            b.onResolve({ filter: /^engineroom$/ }, () => ({ path: engineEntry(), external: true }))
          },
        },
      ],
    })
    text = result.outputFiles[0]?.text ?? ''
  } catch (error) {
    const errors = (
      error as {
        errors?: {
          text: string
          location?: { file: string; line: number; column: number } | null
        }[]
      }
    ).errors
    const first = errors?.[0]
    const where = first?.location
      ? ` at ${first.location.file}:${first.location.line}:${first.location.column}`
      : ''
    throw new ExtensionLoadError(
      `The extension ${path} does not compile${where}: ${first?.text ?? String(error)}`,
    )
  }
  await writeFile(out, text, { mode: 0o600 })
  let module: { default?: unknown }
  try {
    module = (await import(pathToFileURL(out).href)) as { default?: unknown }
  } catch (error) {
    throw new ExtensionLoadError(
      `The extension ${path} failed while loading: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    )
  } finally {
    await unlink(out).catch(() => {})
  }
  if (typeof module.default !== 'function') {
    throw new ExtensionLoadError(
      `The extension ${path} must export a default function: export default defineExtension((er) => { … })`,
    )
  }
  return {
    name: 'main',
    setup: module.default as ExtensionSetup,
    file: path,
  }
}

/** The package entry of the running engine (built `dist/index.js`, or `src/index.ts` from source). */
function engineEntry(): string {
  const built = fileURLToPath(new URL('../../index.js', import.meta.url))
  const source = fileURLToPath(new URL('../../index.ts', import.meta.url))
  return pathToFileURL(existsSync(built) ? built : source).href
}
