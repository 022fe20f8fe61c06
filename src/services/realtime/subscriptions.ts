import { EngineError } from '../../core/errors/index.js'
import type { Topic } from './sse-stream.js'

const TOPIC = /^([A-Za-z_][A-Za-z0-9_]{0,62})(?:\/([A-Za-z0-9_-]{1,64}))?$/

/**
 * Parses `topic` query values: `posts` (every record of posts) or `posts/{id}` (one record).
 *
 * @example
 *   parseTopics(['posts', 'users/01jq…'], 20) // [{ collection: 'posts' }, { collection: 'users', recordId: '01jq…' }]
 */
export function parseTopics(raw: readonly string[], maxTopics: number): Topic[] {
  if (raw.length === 0)
    throw invalidTopic('required', 'give at least one topic=<collection>[/<id>]')
  const distinct = [...new Set(raw)]
  if (distinct.length > maxTopics) {
    throw invalidTopic('max', `at most ${maxTopics} topics per connection`)
  }
  return distinct.map((text) => {
    const match = TOPIC.exec(text)
    if (!match)
      throw invalidTopic(
        'invalid',
        `"${text.slice(0, 80)}" is not <collection> or <collection>/<id>`,
      )
    return match[2] === undefined
      ? { collection: match[1] as string }
      : { collection: match[1] as string, recordId: match[2] }
  })
}

/** `Last-Event-ID` (header) as an event id, or undefined when absent. */
export function parseLastEventId(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined
  if (!/^\d{1,15}$/.test(raw)) {
    throw new EngineError('ER_VALIDATION_FAILED', 'Last-Event-ID: must be an event id.', {
      errors: { 'Last-Event-ID': [{ code: 'invalid', message: 'must be a whole number' }] },
    })
  }
  return Number(raw)
}

function invalidTopic(code: string, message: string): EngineError {
  return new EngineError('ER_VALIDATION_FAILED', `topic: ${message}.`, {
    errors: { topic: [{ code, message }] },
  })
}
