import { isAbsolute, relative } from 'node:path'
import type { Command } from 'commander'
import { EngineError } from '../../core/errors/index.js'
import { loadMain } from './load-main.js'
import { configFrom, withDirOption } from './options.js'

/** `engineroom init --template career-hub [--dir]`: a working example app in one command. */
export function registerInitCommand(program: Command): void {
  withDirOption(
    program
      .command('init')
      .description('Create an example app (collections, rules, seed data, products).')
      .requiredOption('--template <name>', 'the template: career-hub'),
  ).action(async (options: { template: string; dir?: string }) => {
    const { TEMPLATES, applyTemplate } = await import('../../services/templates/apply-template.js')
    const { writeTemplateExtension } =
      await import('../../services/templates/template-extension.js')
    const name = TEMPLATES.find((t) => t === options.template)
    if (!name) {
      throw new EngineError(
        'ER_VALIDATION_FAILED',
        `Unknown template "${options.template}". Templates: ${TEMPLATES.join(', ')}.`,
      )
    }
    const config = configFrom(options)
    const { engine, description } = await (await loadMain()).openEngine(config)
    try {
      console.log(`engineroom: ${name} into ${description}`)
      const result = await applyTemplate(engine, name, (line) => console.log(`  ${line}`))
      // Also when the template was there already: a data folder made before the template had
      // an extension gets it, and an edited copy is kept.
      const extension = writeTemplateExtension(config.dataDir, name)
      // Relative when inside the current folder (as `npm run demo` has it), else absolute.
      const inside = relative(process.cwd(), extension.file)
      const shown =
        inside && !inside.startsWith('..') && !isAbsolute(inside) ? inside : extension.file
      console.log(
        `  extension: ${shown} (${extension.written ? 'written' : 'kept, as it was there'})`,
      )
      if (!result.applied) {
        console.log(`engineroom: the ${name} template is there already; nothing else to do.`)
      } else {
        console.log(
          `engineroom: created ${result.collections.length} collections, ${result.records} records and ${result.products} products.`,
        )
      }
      console.log(
        `Start it with: ER_PAYMENTS_PROVIDER=test engineroom serve` +
          (options.dir ? ` --dir ${options.dir}` : '') +
          ` --extensions ${shown}\n` +
          `then open its page at /hub/ (http://127.0.0.1:8090/hub/ by default) and the dashboard at /_/.`,
      )
    } finally {
      await engine.close()
    }
  })
}
