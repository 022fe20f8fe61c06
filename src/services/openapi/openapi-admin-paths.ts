import { BEARER_AUTH, PROBLEM_RESPONSES, type ProblemStatus } from './openapi-components.js'
import type { JsonSchema, OpenApiObject } from './openapi-types.js'

/** Superusers only (an API key needs the `*` scope naming the operation). */
const SUPERUSER = [{ [BEARER_AUTH]: [] }]
const JOBS = 'Jobs'
const WEBHOOKS = 'Webhooks'
const MAIL = 'Mail templates'
const OBSERVABILITY = 'Observability'
const SCHEDULES = 'Schedules'

const text = { type: 'string' }
const nullableText = { type: ['string', 'null'] }
const JOB_STATE = { type: 'string', enum: ['queued', 'active', 'done', 'dead', 'canceled'] }

const JOB: JsonSchema = {
  type: 'object',
  properties: {
    id: text,
    name: text,
    payload: {},
    state: JOB_STATE,
    priority: { type: 'integer' },
    attemptsMade: { type: 'integer' },
    maxAttempts: { type: 'integer' },
    runAt: text,
    lastError: nullableText,
    created: text,
    updated: text,
    finished: nullableText,
  },
}

const WEBHOOK: JsonSchema = {
  type: 'object',
  properties: {
    id: text,
    url: text,
    collection: text,
    actions: {
      type: 'array',
      description:
        'Auth events (signUp, signIn, passwordReset, emailVerified): auth collections only.',
      items: {
        type: 'string',
        enum: ['create', 'update', 'delete', 'signUp', 'signIn', 'passwordReset', 'emailVerified'],
      },
    },
    filter: nullableText,
    enabled: { type: 'boolean' },
    disabledReason: nullableText,
    disabledAt: nullableText,
    failures: { type: 'integer' },
    previousSecretExpires: nullableText,
    created: text,
    updated: text,
    secret: { type: 'string', description: 'whsec_…; only in the answer to create or rotate.' },
  },
}

const WEBHOOK_INPUT: JsonSchema = {
  type: 'object',
  properties: {
    url: text,
    collection: text,
    actions: WEBHOOK.properties && (WEBHOOK.properties as Record<string, unknown>).actions,
    filter: nullableText,
    enabled: { type: 'boolean' },
    rotateSecret: {
      type: 'boolean',
      description: 'PATCH: a new secret; the old one signs for 24 h.',
    },
    retirePreviousSecret: { type: 'boolean', description: 'PATCH: end a rotation at once.' },
  },
}

const MAIL_TEMPLATE_FIELDS = {
  subject: { type: 'string', maxLength: 500 },
  html: { type: 'string', maxLength: 100000 },
  text: { type: 'string', maxLength: 100000 },
  variables: { type: 'array', items: text, maxItems: 50 },
}
const MAIL_TEMPLATE_INPUT: JsonSchema = {
  type: 'object',
  required: ['subject', 'html', 'text'],
  properties: MAIL_TEMPLATE_FIELDS,
}
const MAIL_TEMPLATE: JsonSchema = {
  type: 'object',
  properties: {
    ...MAIL_TEMPLATE_FIELDS,
    name: text,
    builtIn: { type: 'boolean' },
    overridden: { type: 'boolean' },
  },
}
const RENDERED_MAIL: JsonSchema = {
  type: 'object',
  properties: { subject: text, html: text, text },
}

const DELIVERY: JsonSchema = {
  type: 'object',
  properties: {
    id: text,
    webhookId: text,
    messageId: text,
    attempt: { type: 'integer' },
    outcome: { type: 'string', enum: ['delivered', 'failed', 'refused'] },
    body: text,
    request: text,
    responseStatus: { type: ['integer', 'null'] },
    response: text,
    durationMs: { type: 'integer' },
    error: nullableText,
    created: text,
  },
}

const METRICS_POINT: JsonSchema = {
  type: 'object',
  properties: {
    at: { type: 'string', description: 'End of the interval.' },
    seconds: { type: 'number' },
    requests: { type: 'integer' },
    requestsPerSecond: { type: 'number' },
    p95Ms: { type: ['number', 'null'], description: 'Estimated from histogram buckets.' },
    serverErrors: { type: 'integer' },
    errorRate: { type: 'number', description: 'Share of 5xx answers, 0-1.' },
    clientErrors: { type: 'integer' },
    eventLoopLagP99Ms: { type: 'number' },
    realtimeConnections: { type: 'integer' },
  },
}
const LOG_LINE: JsonSchema = {
  type: 'object',
  description: 'A log line as written (secrets redacted), with `levelName`.',
  properties: {
    level: { type: 'integer' },
    levelName: text,
    time: { type: 'integer' },
    msg: text,
    reqId: text,
    method: text,
    path: text,
    route: text,
    status: { type: 'integer' },
    durationMs: { type: 'number' },
  },
}

const SCHEDULE_INPUT: JsonSchema = {
  type: 'object',
  properties: {
    name: text,
    cron: { type: 'string', description: 'A cron expression (5 or 6 fields), e.g. `0 3 * * *`.' },
    tz: { type: 'string', description: 'An IANA time zone (default UTC).' },
    job: { type: 'string', description: 'The name of a defined job handler.' },
    payload: {},
    enabled: { type: 'boolean' },
  },
  additionalProperties: false,
}

const SCHEDULE: JsonSchema = {
  type: 'object',
  properties: {
    id: text,
    ...(SCHEDULE_INPUT.properties as Record<string, JsonSchema>),
    nextRun: nullableText,
    lastTick: nullableText,
    created: text,
    updated: text,
  },
}

const json = (description: string, schema: JsonSchema): OpenApiObject => ({
  description,
  content: { 'application/json': { schema } },
})
const list = (items: JsonSchema, extra: Record<string, JsonSchema> = {}): JsonSchema => ({
  type: 'object',
  properties: { items: { type: 'array', items }, ...extra },
})
const problems = (statuses: readonly ProblemStatus[]): OpenApiObject =>
  Object.fromEntries(
    statuses.map((s) => [String(s), { $ref: `#/components/responses/${PROBLEM_RESPONSES[s]}` }]),
  )
const op = (operationId: string, tag: string, summary: string, responses: OpenApiObject) => ({
  operationId,
  tags: [tag],
  summary,
  security: SUPERUSER,
  responses,
})
const idParam = (name: string) => ({ name, in: 'path', required: true, schema: text })
const query = (name: string, schema: JsonSchema) => ({ name, in: 'query', schema })

const SETTINGS = 'Settings'

/** One setting as `GET /api/admin/settings` describes it. */
const SETTING: JsonSchema = {
  type: 'object',
  required: ['source'],
  properties: {
    source: { type: 'string', enum: ['environment', 'database', 'default'] },
    variable: { type: 'string', description: 'The environment variable that fixes it.' },
    value: { description: 'The value in force (absent for a secret).' },
    secret: { type: 'boolean', const: true },
    set: { type: 'boolean', description: 'For a secret: whether one is set (never its value).' },
  },
}
const BUDGET: JsonSchema = {
  oneOf: [
    {
      type: 'object',
      additionalProperties: false,
      required: ['max', 'windowSeconds'],
      properties: {
        max: { type: 'integer', minimum: 1, maximum: 1_000_000 },
        windowSeconds: { type: 'integer', minimum: 1, maximum: 86_400 },
      },
    },
    { type: 'string', const: 'off' },
    { type: 'null' },
  ],
}
const orNull = (schema: JsonSchema): JsonSchema => ({ oneOf: [schema, { type: 'null' }] })
const SETTINGS_INPUT: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  description:
    'The keys to change, all or none; `null` resets a key to its default (clears a secret). ' +
    'A key fixed by the environment is refused with 409.',
  properties: {
    'smtp.host': orNull({ type: 'string', maxLength: 253 }),
    'smtp.port': orNull({ type: 'integer', minimum: 1, maximum: 65535 }),
    'smtp.secure': orNull({ type: 'boolean' }),
    'smtp.user': orNull({ type: 'string', maxLength: 256 }),
    'smtp.password': orNull({ type: 'string', maxLength: 256, writeOnly: true }),
    'smtp.from': orNull({ type: 'string', maxLength: 320 }),
    'oauth.providers': orNull({
      type: 'array',
      maxItems: 20,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'collection', 'clientId', 'enabled'],
        properties: {
          name: { type: 'string', pattern: '^[a-z][a-z0-9_-]{0,31}$' },
          collection: text,
          preset: { type: 'string', enum: ['google', 'github'] },
          issuer: { type: 'string', format: 'uri' },
          clientId: { type: 'string', maxLength: 256 },
          clientSecret: {
            type: ['string', 'null'],
            maxLength: 256,
            writeOnly: true,
            description: 'Absent: keep the stored one; null: clear it.',
          },
          enabled: { type: 'boolean' },
        },
      },
    }),
    ...Object.fromEntries(
      ['read', 'write', 'auth', 'superuserRead', 'superuserWrite', 'apiKeyRead', 'apiKeyWrite'].map(
        (k) => [`rateLimits.${k}`, BUDGET],
      ),
    ),
    'cors.origins': orNull({
      type: 'array',
      maxItems: 100,
      items: { type: 'string', maxLength: 200 },
    }),
  },
}

/**
 * `/api/jobs`, `/api/webhooks`, `/api/mail-templates` and `/api/admin/*` (superusers); shown
 * only to callers who see the schema API.
 */
export function buildAdminPaths(): Record<string, OpenApiObject> {
  return {
    '/api/jobs': {
      get: {
        ...op('listJobs', JOBS, 'List background jobs, newest first', {
          200: json('A page of jobs.', list(JOB, { nextBefore: nullableText })),
          ...problems([400, 401, 403, 429]),
        }),
        parameters: [
          query('state', JOB_STATE),
          query('name', text),
          query('perPage', text),
          query('before', text),
        ],
      },
    },
    '/api/jobs/{id}': {
      parameters: [idParam('id')],
      get: op('getJob', JOBS, 'View a job', {
        200: json('The job.', JOB),
        ...problems([401, 403, 404, 429]),
      }),
    },
    '/api/jobs/{id}/retry': {
      parameters: [idParam('id')],
      post: op('retryJob', JOBS, 'Queue a dead or canceled job again', {
        200: json('The job, queued.', JOB),
        ...problems([401, 403, 404, 409, 429]),
      }),
    },
    '/api/jobs/{id}/cancel': {
      parameters: [idParam('id')],
      post: op('cancelJob', JOBS, 'Cancel a queued job', {
        200: json('The job, canceled.', JOB),
        ...problems([401, 403, 404, 409, 429]),
      }),
    },
    '/api/webhooks': {
      get: op('listWebhooks', WEBHOOKS, 'List webhooks', {
        200: json('The webhooks.', list(WEBHOOK)),
        ...problems([401, 403, 429]),
      }),
      post: {
        ...op('createWebhook', WEBHOOKS, 'Create a webhook (its secret is answered once)', {
          201: json('The webhook, with `secret`.', WEBHOOK),
          ...problems([400, 401, 403, 413, 415, 429]),
        }),
        requestBody: { required: true, content: { 'application/json': { schema: WEBHOOK_INPUT } } },
      },
    },
    '/api/webhooks/{id}': {
      parameters: [idParam('id')],
      get: op('getWebhook', WEBHOOKS, 'View a webhook', {
        200: json('The webhook.', WEBHOOK),
        ...problems([401, 403, 404, 429]),
      }),
      patch: {
        ...op('updateWebhook', WEBHOOKS, 'Change, enable, or rotate the secret of a webhook', {
          200: json('The webhook (with `secret` after a rotation).', WEBHOOK),
          ...problems([400, 401, 403, 404, 413, 415, 429]),
        }),
        requestBody: { required: true, content: { 'application/json': { schema: WEBHOOK_INPUT } } },
      },
      delete: op('deleteWebhook', WEBHOOKS, 'Delete a webhook and its log', {
        204: { description: 'Deleted.' },
        ...problems([401, 403, 404, 429]),
      }),
    },
    '/api/webhooks/{id}/deliveries': {
      parameters: [idParam('id')],
      get: {
        ...op('listWebhookDeliveries', WEBHOOKS, 'The delivery log, newest first', {
          200: json('Logged attempts.', list(DELIVERY)),
          ...problems([400, 401, 403, 404, 429]),
        }),
        parameters: [query('perPage', text), query('before', text)],
      },
    },
    '/api/webhooks/{id}/deliveries/{delivery}/replay': {
      parameters: [idParam('id'), idParam('delivery')],
      post: op('replayWebhookDelivery', WEBHOOKS, 'Send a logged message again', {
        202: json('The delivery job.', { type: 'object', properties: { job: text } }),
        ...problems([401, 403, 404, 429]),
      }),
    },
    '/api/admin/metrics': {
      get: {
        ...op('adminMetrics', OBSERVABILITY, "This process's last hour, sampled every 10 s", {
          200: json('Points oldest first, and the interval under way.', {
            type: 'object',
            properties: {
              intervalSeconds: { type: 'number' },
              points: { type: 'array', items: METRICS_POINT, maxItems: 360 },
              current: METRICS_POINT,
            },
          }),
          ...problems([401, 403, 429]),
        }),
        description: 'Superusers signed in as such (not API keys).',
      },
    },
    '/api/admin/logs': {
      get: {
        ...op('adminLogs', OBSERVABILITY, "This process's recent log lines, newest first", {
          200: json('Matching lines; `capturing` is false without a logger.', {
            type: 'object',
            properties: {
              capturing: { type: 'boolean' },
              items: { type: 'array', items: LOG_LINE },
            },
          }),
          ...problems([400, 401, 403, 429]),
        }),
        description: 'Superusers signed in as such (not API keys). At most the last 1000 lines.',
        parameters: [
          query('level', {
            type: 'string',
            enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal'],
          }),
          query('route', { type: 'string', maxLength: 200 }),
          query('status', { type: 'string', pattern: '^(?:[1-5][0-9]{2}|[1-5]xx)$' }),
          query('requestId', { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' }),
          query('limit', { type: 'string', pattern: '^(?:[1-9][0-9]{0,2}|1000)$' }),
        ],
      },
    },
    '/api/admin/settings': {
      get: {
        ...op('getSettings', SETTINGS, 'SMTP, OAuth providers, rate limits and CORS in force', {
          200: json('Every setting by key.', { type: 'object', additionalProperties: SETTING }),
          ...problems([401, 403, 429]),
        }),
        description: 'Superusers signed in as such (not API keys). Secrets say only `set`.',
      },
      patch: {
        ...op('updateSettings', SETTINGS, 'Change settings, applied at once on every node', {
          200: json('Every setting by key.', { type: 'object', additionalProperties: SETTING }),
          ...problems([400, 401, 403, 409, 413, 415, 429]),
        }),
        description: 'Superusers signed in as such (not API keys). Audit-logged by key.',
        requestBody: {
          required: true,
          content: { 'application/json': { schema: SETTINGS_INPUT } },
        },
      },
    },
    '/api/admin/settings/test-mail': {
      post: {
        ...op('sendTestMail', SETTINGS, 'Send one mail through the mail settings in force', {
          200: json('Handed to the mail server.', {
            type: 'object',
            properties: {
              sent: { type: 'boolean' },
              to: text,
              via: { type: 'string', enum: ['settings', 'environment'] },
            },
          }),
          ...problems([400, 401, 403, 429, 503]),
          502: { description: 'The mail server did not accept the mail (problem details).' },
        }),
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['to'],
                properties: { to: { type: 'string', format: 'email' } },
              },
            },
          },
        },
      },
    },
    '/api/schedules': {
      get: op('listSchedules', SCHEDULES, 'List cron schedules stored through the API', {
        200: json('The schedules.', list(SCHEDULE)),
        ...problems([401, 403, 429]),
      }),
      post: {
        ...op('createSchedule', SCHEDULES, 'Create a cron schedule queueing a named job', {
          201: json('The schedule.', SCHEDULE),
          ...problems([400, 401, 403, 409, 413, 415, 429]),
        }),
        requestBody: {
          required: true,
          content: { 'application/json': { schema: SCHEDULE_INPUT } },
        },
      },
    },
    '/api/schedules/{id}': {
      parameters: [idParam('id')],
      get: op('getSchedule', SCHEDULES, 'View a schedule', {
        200: json('The schedule.', SCHEDULE),
        ...problems([401, 403, 404, 429]),
      }),
      patch: {
        ...op('updateSchedule', SCHEDULES, 'Change, enable or disable a schedule', {
          200: json('The schedule.', SCHEDULE),
          ...problems([400, 401, 403, 404, 409, 413, 415, 429]),
        }),
        requestBody: {
          required: true,
          content: { 'application/json': { schema: SCHEDULE_INPUT } },
        },
      },
      delete: op('deleteSchedule', SCHEDULES, 'Delete a schedule', {
        204: { description: 'Deleted.' },
        ...problems([401, 403, 404, 429]),
      }),
    },
    '/api/mail-templates': {
      get: op('listMailTemplates', MAIL, 'List mail templates (built-in and user-defined)', {
        200: json('The templates, without bodies.', list(MAIL_TEMPLATE)),
        ...problems([401, 403, 429]),
      }),
    },
    '/api/mail-templates/{name}': {
      parameters: [idParam('name')],
      get: op('getMailTemplate', MAIL, 'View a mail template (override or default)', {
        200: json('The template.', MAIL_TEMPLATE),
        ...problems([400, 401, 403, 404, 429]),
      }),
      put: {
        ...op('putMailTemplate', MAIL, 'Override a built-in template or store a new one', {
          200: json('The stored template.', MAIL_TEMPLATE),
          ...problems([400, 401, 403, 429]),
        }),
        requestBody: {
          required: true,
          content: { 'application/json': { schema: MAIL_TEMPLATE_INPUT } },
        },
      },
      delete: op('deleteMailTemplate', MAIL, 'Drop an override (back to the default)', {
        204: { description: 'Dropped.' },
        ...problems([400, 401, 403, 404, 429]),
      }),
    },
    '/api/mail-templates/{name}/preview': {
      parameters: [idParam('name')],
      post: op('previewMailTemplate', MAIL, 'Render a template with sample or given variables', {
        200: json('The rendered subject and bodies.', RENDERED_MAIL),
        ...problems([400, 401, 403, 404, 429]),
      }),
    },
  }
}
