import { EngineError } from '../../core/errors/index.js'

/**
 * How much `expand` may add to one response (REST, and each GraphQL list or record field):
 * `ER_EXPAND_MAX_PER_RELATION` and `ER_EXPAND_MAX_RECORDS`. A request over either is refused
 * with ER_EXPAND_TOO_LARGE (400), never cut short: a client never gets a silently partial list.
 *
 * @example
 *   // GET /api/collections/posts/records/p1?expand=comments_via_post
 *   // p1 has 1,500 comments → 400 ER_EXPAND_TOO_LARGE, "expand": "comments_via_post"
 */
export interface ExpandLimits {
  /** Records one relation may expand for one record: a back-relation, or a multi relation. */
  maxPerRelation: number
  /**
   * Expanded records in one response, every relation and level together, counted as written
   * out (a record that appears under 500 parents counts 500 times).
   */
  maxRecords: number
}

/** PocketBase caps a back-relation at 1,000 records; a response holds at most 5,000. */
export const DEFAULT_EXPAND_LIMITS: ExpandLimits = { maxPerRelation: 1000, maxRecords: 5000 }

/**
 * The 400 for an expansion over a limit, naming the expand path (and, per relation, the
 * record) and saying what to do instead.
 */
export function expandTooLarge(
  kind: 'relation' | 'response',
  path: string,
  limit: number,
  record?: string,
): EngineError {
  const message =
    kind === 'relation'
      ? `"${path}" holds more than ${limit} records for record "${record}" ` +
        `(at most ${limit} per relation and record); list that collection with a filter ` +
        'and page through it instead'
      : `"${path}" would bring the expanded records of this response above ${limit}; ` +
        'ask for fewer records per page (perPage) or expand fewer relations'
  return new EngineError('ER_EXPAND_TOO_LARGE', `expand: ${message}.`, {
    errors: { expand: [{ code: 'too_large', message }] },
    extra: { expand: path, limit, ...(record === undefined ? {} : { record }) },
  })
}
