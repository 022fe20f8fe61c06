import { copyFileSync, existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TemplateName } from './apply-template.js'

/**
 * The template's extension source: `templates/<name>/extensions/<name>.ts` at the package root,
 * three levels above this module both in `src/services/templates/` and in `dist/services/templates/`.
 */
function extensionSource(name: TemplateName): string {
  return fileURLToPath(new URL(`../../../templates/${name}/extensions/${name}.ts`, import.meta.url))
}

/**
 * Copies a template's extension into `<dataDir>/extensions/<name>.ts` unless a file is there
 * already (it may be edited: an example is meant to be changed), and answers its path, for
 * `engineroom serve --extensions`.
 *
 * @example
 *   writeTemplateExtension('./demo_data', 'career-hub')
 *   // → { file: 'demo_data/extensions/career-hub.ts', written: true }
 */
export function writeTemplateExtension(
  dataDir: string,
  name: TemplateName,
): { file: string; written: boolean } {
  const file = join(dataDir, 'extensions', `${name}.ts`)
  if (existsSync(file)) return { file, written: false }
  mkdirSync(join(dataDir, 'extensions'), { recursive: true })
  copyFileSync(extensionSource(name), file)
  return { file, written: true }
}
