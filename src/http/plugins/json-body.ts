import type { FastifyInstance } from 'fastify'
import { EngineError } from '../../core/errors/index.js'
import { deepNestingOffset, MAX_JSON_DEPTH } from '../../core/json-depth.js'

/** The 400 for JSON nested deeper than `MAX_JSON_DEPTH`, naming the offset where it went too deep. */
export function tooDeeplyNested(offset: number): EngineError {
  return new EngineError(
    'ER_REQUEST_MALFORMED',
    `The JSON body nests deeper than ${MAX_JSON_DEPTH} levels (at character ${offset}).`,
    {
      errors: {
        body: [{ code: 'depth', message: `must nest at most ${MAX_JSON_DEPTH} levels deep` }],
      },
      extra: { position: offset },
    },
  )
}

/**
 * `application/json` bodies, parsed as Fastify does (prototype poisoning refused) once a linear
 * scan has found them no deeper than `MAX_JSON_DEPTH`: everything that walks a body afterwards
 * (validation, serialisation, GraphQL's value coercion) recurses per level.
 */
export function registerJsonParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string
    const offset = deepNestingOffset(text)
    if (offset >= 0) {
      done(tooDeeplyNested(offset), undefined)
      return
    }
    parse(request, text, done)
  })
}
