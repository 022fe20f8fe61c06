import { errorCatalogue, type ErrorCode } from './codes.js'

/** One problem with one input field (or filter position): `{ code, message }` as in RFC 9457 `errors`. */
export interface FieldIssue {
  code: string
  message: string
}

/** Field name (or `filter`, `body`, `requests.2.body.title`) → its issues. */
export type FieldIssues = Record<string, FieldIssue[]>

/**
 * The one error type the engine throws on purpose. Transports map `code` to a status and title
 * from the catalogue; `detail` is for humans and never carries a secret.
 *
 * @example
 *   throw new EngineError('ER_RECORD_NOT_FOUND', `No record "${id}" in "posts".`)
 */
export class EngineError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly title: string
  readonly errors: FieldIssues | undefined
  /** Extra members for the problem document (for example `index` of a failed batch request). */
  readonly extra: Record<string, unknown> | undefined

  constructor(
    code: ErrorCode,
    detail: string,
    options: {
      errors?: FieldIssues
      extra?: Record<string, unknown>
      cause?: unknown
      /** Only for codes whose status is chosen by the thrower (an extension's `er.problem`). */
      status?: { status: number; title: string }
    } = {},
  ) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'EngineError'
    this.code = code
    this.status = options.status?.status ?? errorCatalogue[code].status
    this.title = options.status?.title ?? errorCatalogue[code].title
    this.errors = options.errors
    this.extra = options.extra
  }
}

/** Shorthand for the common 400: one field, one issue. */
export function invalidField(field: string, code: string, message: string): EngineError {
  return new EngineError('ER_VALIDATION_FAILED', `${field}: ${message}`, {
    errors: { [field]: [{ code, message }] },
  })
}

export function isEngineError(error: unknown): error is EngineError {
  return error instanceof EngineError
}
