import { EngineError } from '../errors/engine-error.js'

type FilterErrorCode =
  | 'ER_FILTER_SYNTAX'
  | 'ER_FILTER_UNKNOWN_FIELD'
  | 'ER_FILTER_TYPE_MISMATCH'
  | 'ER_FILTER_LIMIT'
  | 'ER_FILTER_MACRO_NOT_ALLOWED'

const issueCodes: Record<FilterErrorCode, string> = {
  ER_FILTER_SYNTAX: 'syntax',
  ER_FILTER_UNKNOWN_FIELD: 'unknown_field',
  ER_FILTER_TYPE_MISMATCH: 'type_mismatch',
  ER_FILTER_LIMIT: 'limit',
  ER_FILTER_MACRO_NOT_ALLOWED: 'macro_not_allowed',
}

/**
 * The one way the filter stages report a problem: a 400 whose `errors.filter` names the 0-based
 * position, as QUERY-LANGUAGE.md requires.
 *
 * @example
 *   throw createFilterError('ER_FILTER_SYNTAX', 12, 'expected an operator after "title"')
 *   // errors: { filter: [{ code: 'syntax', message: 'at position 12: expected an operator after "title"' }] }
 */
export function createFilterError(
  code: FilterErrorCode,
  pos: number,
  message: string,
): EngineError {
  const located = `at position ${pos}: ${message}`
  return new EngineError(code, `Invalid filter ${located}`, {
    errors: { filter: [{ code: issueCodes[code], message: located }] },
    extra: { position: pos },
  })
}
