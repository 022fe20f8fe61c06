import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import {
  errorCatalogue,
  EngineError,
  type ErrorCode,
  type FieldIssues,
} from '../../core/errors/index.js'

/** Problem `type` URIs name the catalogue code; docs/reference/errors.md describes each. */
export const PROBLEM_TYPE_BASE = 'urn:engineroom:error:'

/** RFC 9457 problem details, with the engine's stable `code` as an extension member. */
export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  instance?: string
  code: ErrorCode
  errors?: FieldIssues
  [extension: string]: unknown
}

export function toProblem(error: EngineError, instance?: string): Problem {
  return {
    type: PROBLEM_TYPE_BASE + error.code,
    title: error.title,
    status: error.status,
    detail: error.message,
    ...(instance ? { instance } : {}),
    code: error.code,
    ...(error.errors ? { errors: error.errors } : {}),
    ...error.extra,
  }
}

/** Fastify's own errors (body parsing, limits, schema validation) mapped to catalogue codes. */
function fromFastifyError(error: FastifyError): EngineError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new EngineError(
        'ER_BODY_TOO_LARGE',
        'The request body is larger than this server accepts.',
      )
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new EngineError(
        'ER_UNSUPPORTED_MEDIA_TYPE',
        'Send request bodies as application/json.',
      )
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new EngineError('ER_REQUEST_MALFORMED', error.message)
  }
  if (error.validation) {
    const errors: FieldIssues = {}
    for (const item of error.validation) {
      const missing = (item.params as { missingProperty?: string } | undefined)?.missingProperty
      const path = [item.instancePath.replace(/^\//, '').replaceAll('/', '.'), missing]
        .filter(Boolean)
        .join('.')
      const key = path || error.validationContext || 'body'
      ;(errors[key] ??= []).push({ code: item.keyword, message: item.message ?? 'is invalid' })
    }
    const first = Object.keys(errors)[0] as string
    return new EngineError('ER_VALIDATION_FAILED', `${first}: ${errors[first]?.[0]?.message}`, {
      errors,
    })
  }
  if (
    error instanceof SyntaxError ||
    (error.statusCode === 400 && error.code?.startsWith('FST_ERR_CTP'))
  ) {
    return new EngineError(
      'ER_REQUEST_MALFORMED',
      `The request body is not valid JSON: ${error.message}`,
    )
  }
  if (error.statusCode === 400 && /prototype|__proto__|constructor/i.test(error.message)) {
    return new EngineError(
      'ER_REQUEST_MALFORMED',
      'The request body uses a forbidden key (__proto__ or constructor.prototype).',
    )
  }
  if (error.statusCode === 413)
    return new EngineError('ER_BODY_TOO_LARGE', 'The request is larger than this server accepts.')
  if (error.statusCode === 415)
    return new EngineError('ER_UNSUPPORTED_MEDIA_TYPE', 'Send request bodies as application/json.')
  if (error.statusCode === 429) return new EngineError('ER_RATE_LIMITED', error.message)
  if (error.statusCode === 405) return new EngineError('ER_METHOD_NOT_ALLOWED', error.message)
  if (error.statusCode === 404) return new EngineError('ER_ROUTE_NOT_FOUND', error.message)
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return new EngineError('ER_REQUEST_MALFORMED', error.message)
  }
  return undefined
}

/**
 * One error handler for the whole app: known errors become problem documents; anything else is
 * logged in full and answered with a generic 500 that reveals nothing of the cause.
 */
export function registerProblemDetails(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const known = error instanceof EngineError ? error : fromFastifyError(error)
    if (!known) {
      request.log.error({ err: error }, 'unhandled error')
    }
    const problem = toProblem(
      known ??
        new EngineError(
          'ER_INTERNAL',
          'Something went wrong on the server; the request id is in the logs.',
        ),
      request.url.split('?')[0],
    )
    // The id that finds the logged cause (also in the X-Request-Id the client may have sent).
    if (!known) problem.requestId = String(request.id)
    if (problem.status === 429 || problem.status === 503) {
      // RFC 9110 §10.2.3: delay-seconds; an error that knows its delay (a lockout) says it.
      const retryAfter = known?.extra?.retryAfter ?? reply.getHeader('retry-after') ?? 1
      reply.header('retry-after', String(retryAfter))
    }
    return reply.status(problem.status).type('application/problem+json').send(problem)
  })
  app.setNotFoundHandler((request, reply) => {
    const problem = toProblem(
      new EngineError(
        'ER_ROUTE_NOT_FOUND',
        `No route ${request.method} ${request.url.split('?')[0]}.`,
      ),
    )
    return reply.status(404).type('application/problem+json').send(problem)
  })
}

/**
 * For Fastify's `frameworkErrors` option: the router rejects an over-long path parameter or a
 * malformed URL before any handler runs, so without this those answers are not problems.
 */
export function replyFrameworkError(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const path = request.url.split('?')[0]
  // A parameter longer than any name or id can be matches no route, as the server promises.
  const known =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new EngineError('ER_ROUTE_NOT_FOUND', `No route ${request.method} ${path}.`)
      : (fromFastifyError(error) ??
        new EngineError('ER_REQUEST_MALFORMED', 'The request URL is malformed.'))
  void reply.status(known.status).type('application/problem+json').send(toProblem(known, path))
}

/** The catalogue, for the test that keeps docs/reference/errors.md honest. */
export const problemCatalogue = errorCatalogue
