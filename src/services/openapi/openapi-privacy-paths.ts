import { BEARER_AUTH, PROBLEM_RESPONSES, type ProblemStatus } from './openapi-components.js'
import type { JsonSchema, OpenApiObject } from './openapi-types.js'

const PRIVACY = 'Privacy'
const SIGNED_IN = [{ [BEARER_AUTH]: [] }]
const text = { type: 'string' }

const CONSENT_STATE: JsonSchema = {
  type: 'object',
  required: ['purpose', 'granted', 'at'],
  properties: {
    purpose: text,
    granted: { type: 'boolean' },
    at: { type: 'string', description: 'When it was recorded (ISO 8601, UTC).' },
  },
}
const CONSENT_CHANGE: JsonSchema = {
  type: 'object',
  required: ['purpose', 'granted', 'at', 'actor', 'ip', 'userAgent'],
  properties: {
    ...(CONSENT_STATE.properties as Record<string, JsonSchema>),
    actor: { type: 'string', description: 'Who recorded it: `<collection>/<id>`.' },
    ip: text,
    userAgent: text,
  },
}
const CONSENT_REPORT: JsonSchema = {
  type: 'object',
  required: ['subject', 'current', 'history'],
  properties: {
    subject: {
      type: 'object',
      properties: { collection: text, id: text },
    },
    current: {
      type: 'array',
      description: 'The latest state of each purpose ever recorded, by purpose.',
      items: CONSENT_STATE,
    },
    history: {
      type: 'array',
      description: 'Every change, oldest first (at most 1000 per person).',
      items: CONSENT_CHANGE,
    },
  },
}
const SUBJECT_QUERY = [
  {
    name: 'collection',
    in: 'query',
    description: 'Superusers: the auth collection of the person (with `id`).',
    schema: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]{0,62}$' },
  },
  {
    name: 'id',
    in: 'query',
    description: 'Superusers: the record id of the person (with `collection`).',
    schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
  },
]

const json = (description: string, schema: JsonSchema): OpenApiObject => ({
  description,
  content: { 'application/json': { schema } },
})
const problems = (statuses: readonly ProblemStatus[]): OpenApiObject =>
  Object.fromEntries(
    statuses.map((s) => [String(s), { $ref: `#/components/responses/${PROBLEM_RESPONSES[s]}` }]),
  )

/**
 * `/api/privacy/consents`: a signed-in person records consent given or withdrawn for one of the
 * purposes the operator declared (`ER_CONSENT_PURPOSES`) and reads their own; superusers read
 * anyone's. API keys are refused (403).
 */
export function buildPrivacyPaths(): Record<string, OpenApiObject> {
  return {
    '/api/privacy/consents': {
      get: {
        operationId: 'listConsents',
        tags: [PRIVACY],
        summary: "The caller's consents (a superuser: anyone's) and their history",
        security: SIGNED_IN,
        parameters: SUBJECT_QUERY,
        responses: {
          200: json('Current state and every change.', CONSENT_REPORT),
          ...problems([400, 401, 403]),
        },
      },
      post: {
        operationId: 'recordConsent',
        tags: [PRIVACY],
        summary: "Give or withdraw consent to a declared purpose (the caller's own)",
        security: SIGNED_IN,
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['purpose', 'granted'],
                properties: {
                  purpose: {
                    type: 'string',
                    maxLength: 64,
                    description: 'One of the purposes in `ER_CONSENT_PURPOSES`.',
                  },
                  granted: { type: 'boolean', description: 'true: given; false: withdrawn.' },
                },
                additionalProperties: false,
              },
            },
          },
        },
        responses: {
          201: json('The change, as recorded.', CONSENT_STATE),
          ...problems([400, 401, 403]),
        },
      },
    },
  }
}
