import { BEARER_AUTH, PROBLEM_RESPONSES, type ProblemStatus } from './openapi-components.js'
import type { OpenApiObject } from './openapi-types.js'

export const REALTIME_TAG = 'Realtime'

const problems = (statuses: readonly ProblemStatus[]): OpenApiObject =>
  Object.fromEntries(
    statuses.map((s) => [String(s), { $ref: `#/components/responses/${PROBLEM_RESPONSES[s]}` }]),
  )

const query = (name: string, description: string, schema: OpenApiObject): OpenApiObject => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
})

/**
 * `GET /api/realtime` and `POST /api/realtime/ticket`. OpenAPI cannot describe an event stream
 * frame by frame; the `text/event-stream` response carries the framing in its description and
 * the JSON of one `data:` line as its schema (`itemSchema` is OpenAPI 3.2, not 3.1).
 */
export function buildRealtimePaths(): Record<string, OpenApiObject> {
  const change = {
    type: 'object',
    required: ['collection', 'action', 'record'],
    properties: {
      collection: { type: 'string' },
      action: { enum: ['create', 'update', 'delete'] },
      record: {
        type: 'object',
        description: 'The record after the change (before it, for delete), as a view shows it.',
      },
    },
  }
  return {
    '/api/realtime': {
      get: {
        operationId: 'subscribeRealtime',
        tags: [REALTIME_TAG],
        summary: 'Stream record changes (Server-Sent Events)',
        description:
          'Each event is `id: <event id>`, `event: create|update|delete`, ' +
          '`data: {"collection","action","record"}`, then a blank line; only records the ' +
          'subscriber may view (and that match `filter`) are sent. Comment lines are heartbeats. ' +
          '`event: reset` means events after `Last-Event-ID` are no longer retained: refetch, ' +
          'then read on. `event: error` with `{"reason"}` comes last before the server closes ' +
          'the stream (`slow_consumer`, `unauthorized`, `shutdown`). Authenticate with ' +
          '`Authorization: Bearer` or a `ticket`; with neither, the stream carries what anyone ' +
          'may see, and a topic no anonymous caller could see is a 401.',
        security: [{ [BEARER_AUTH]: [] }, {}],
        parameters: [
          query('topic', '`<collection>` or `<collection>/<id>`; repeat for several.', {
            type: 'array',
            items: { type: 'string' },
          }),
          query('filter', 'A filter every streamed record must match.', { type: 'string' }),
          query('ticket', 'A ticket from `POST /api/realtime/ticket` (reopens the same stream).', {
            type: 'string',
          }),
          {
            name: 'Last-Event-ID',
            in: 'header',
            required: false,
            description: 'Resume after this event id, with no gap and no duplicate.',
            schema: { type: 'string', pattern: '^[0-9]{1,15}$' },
          },
        ],
        responses: {
          200: {
            description: 'An event stream; each `data:` line is one change as JSON.',
            content: { 'text/event-stream': { schema: change } },
          },
          ...problems([400, 401, 403, 404, 429]),
        },
      },
    },
    '/api/realtime/ticket': {
      post: {
        operationId: 'createRealtimeTicket',
        tags: [REALTIME_TAG],
        summary: 'A ticket for EventSource',
        description:
          'Browsers cannot set headers on EventSource: exchange the bearer token for a ticket ' +
          'that opens one stream (`?ticket=`) within `expiresIn` seconds, then reopens that ' +
          'same stream (same topics and filter) for a few minutes, so EventSource reconnects.',
        security: [{ [BEARER_AUTH]: [] }],
        responses: {
          200: {
            description: 'The ticket.',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['ticket', 'expiresIn'],
                  properties: { ticket: { type: 'string' }, expiresIn: { type: 'integer' } },
                },
              },
            },
          },
          ...problems([401, 429]),
        },
      },
    },
  }
}
