import type { CollectionDef } from '../../core/schema/types.js'
import { BEARER_AUTH, PROBLEM_RESPONSES, type ProblemStatus } from './openapi-components.js'
import { COLLECTION_COMPONENT_SUFFIXES as SUFFIX } from './openapi-names.js'
import { schemaRef, type OpenApiObject } from './openapi-types.js'

const SIGNED_IN = [{ [BEARER_AUTH]: [] }]
const str = (description: string, extra: OpenApiObject = {}) => ({
  type: 'string',
  description,
  ...extra,
})
const object = (properties: Record<string, OpenApiObject>, required: string[] = []) => ({
  type: 'object',
  properties,
  ...(required.length ? { required } : {}),
})
const TOKEN = str('The single-use token from the e-mailed link.', { maxLength: 128 })
const EMAIL = str('An e-mail address.', { format: 'email', maxLength: 254 })
const CODE = str('A 6-digit TOTP code from the authenticator app.', { maxLength: 32 })
const RECOVERY = str('One of the recovery codes (each works once).', { maxLength: 32 })
const SCOPES = {
  type: 'array',
  minItems: 1,
  maxItems: 50,
  items: object(
    {
      collection: str('A collection name, or `*` for every collection.'),
      operations: {
        type: 'array',
        items: { enum: ['list', 'view', 'create', 'update', 'delete'] },
      },
    },
    ['collection', 'operations'],
  ),
}
const API_KEY = object({
  id: { type: 'string' },
  name: { type: 'string' },
  record: { type: 'string', description: 'The owner record.' },
  scopes: SCOPES,
  created: { type: 'string', format: 'date-time' },
  expires: { type: 'string', format: 'date-time' },
  revoked: { type: ['string', 'null'], format: 'date-time' },
})
/** `?record=<id>`: a superuser signed in as such acts on that record instead of themself. */
const RECORD_PARAM = {
  name: 'record',
  in: 'query',
  required: false,
  description: 'Superusers: the record to act on (default: yourself). Not with an API key.',
  schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
}
const SESSION = object({
  id: { type: 'string' },
  created: { type: 'string', format: 'date-time' },
  lastUsed: { type: 'string', format: 'date-time' },
  expires: { type: 'string', format: 'date-time' },
  userAgent: { type: 'string' },
  ip: { type: 'string' },
  current: { type: 'boolean' },
})

const PROVIDER = {
  name: 'provider',
  in: 'path',
  required: true,
  description: 'A provider name from `ER_OAUTH_PROVIDERS`.',
  schema: { type: 'string', pattern: '^[a-z0-9_-]{1,40}$' },
}

/** Adds a 302 answer and query parameters to a GET operation. */
function withRedirect(
  op: OpenApiObject,
  description: string,
  parameters: OpenApiObject[],
): OpenApiObject {
  // The start answers only with a redirect: no 204 from `operation`'s bodiless default.
  const { 204: _noBody, ...responses } = op.responses as Record<string, unknown>
  return { ...op, parameters, responses: { 302: { description }, ...responses } }
}

/**
 * The authentication paths of one auth collection: sign-in (password, MFA), refresh, sign-out,
 * sessions, e-mail flows, TOTP and API keys.
 */
export function buildAuthPaths(collection: CollectionDef, stem: string, tag: string) {
  const base = `/api/collections/${encodeURIComponent(collection.name)}/auth`
  const signedIn = { $ref: `#/components/schemas/${stem}${SUFFIX.authResponse}` }
  const id = (name: string) => `${name}${stem}`
  const post = (
    operationId: string,
    summary: string,
    request: OpenApiObject | undefined,
    response: OpenApiObject | undefined,
    statuses: ProblemStatus[],
    security?: OpenApiObject[],
  ) => ({
    post: operation(id(operationId), tag, summary, request, response, statuses, security),
  })
  return {
    [`${base}/password`]: post(
      'authWithPassword',
      `Log in to ${collection.name}`,
      schemaRef(stem + SUFFIX.passwordLogin),
      {
        oneOf: [
          signedIn,
          object({ mfaRequired: { const: true }, mfaToken: { type: 'string' } }, [
            'mfaRequired',
            'mfaToken',
          ]),
        ],
      },
      [400, 403, 404, 413, 415, 429],
    ),
    [`${base}/oauth2/{provider}`]: {
      parameters: [PROVIDER],
      get: withRedirect(
        operation(
          id('startOAuth2'),
          tag,
          'Sign in with an OAuth2 / OpenID Connect provider (redirects to it)',
          undefined,
          undefined,
          [400, 404],
        ),
        'To the provider, with `code_challenge` (S256), `state` and `nonce`; sets the ' +
          '`er_oauth` cookie that binds the callback to this browser.',
        [
          {
            name: 'redirect',
            in: 'query',
            required: false,
            description:
              'Where to go after sign-in (an origin of the app URL or ER_TRUSTED_ORIGINS); the ' +
              'tokens then arrive in its fragment instead of a JSON body.',
            schema: { type: 'string', format: 'uri', maxLength: 2000 },
          },
        ],
      ),
    },
    [`${base}/oauth2/{provider}/callback`]: {
      parameters: [PROVIDER],
      get: withRedirect(
        operation(
          id('completeOAuth2'),
          tag,
          'Where the provider sends the browser back (`code`, `state`)',
          undefined,
          {
            oneOf: [
              signedIn,
              object({ mfaRequired: { const: true }, mfaToken: { type: 'string' } }, [
                'mfaRequired',
                'mfaToken',
              ]),
            ],
          },
          [400, 403, 404, 409],
        ),
        'When the sign-in started with `redirect`: to it, with `token` and `refreshToken` ' +
          '(or `mfaRequired`, `mfaToken`) in the URL fragment.',
        [
          { name: 'code', in: 'query', required: false, schema: { type: 'string' } },
          { name: 'state', in: 'query', required: true, schema: { type: 'string' } },
        ],
      ),
    },
    [`${base}/mfa/verify`]: post(
      'verifyMfa',
      'Complete a sign-in with a TOTP or recovery code',
      object({ mfaToken: { type: 'string' }, code: CODE, recoveryCode: RECOVERY }, ['mfaToken']),
      signedIn,
      [400, 404, 429],
    ),
    [`${base}/refresh`]: post(
      'refreshAuth',
      'Swap a refresh token for a new pair (the old one is spent)',
      object({ refreshToken: { type: 'string' } }),
      signedIn,
      [400, 401, 403, 404],
    ),
    // By the bearer token, or (signed out already) by `refreshToken` alone: both security
    // alternatives, and an optional body, so that generated clients send the token.
    [`${base}/logout`]: {
      post: {
        ...operation(
          id('logout'),
          tag,
          'End the session (by access token, or by `refreshToken`)',
          undefined,
          undefined,
          [401, 403, 404],
          [...SIGNED_IN, {}],
        ),
        requestBody: {
          required: false,
          content: { 'application/json': { schema: object({ refreshToken: { type: 'string' } }) } },
        },
      },
    },
    [`${base}/sessions`]: {
      parameters: [RECORD_PARAM],
      get: operation(
        id('listSessions'),
        tag,
        'Your live sessions',
        undefined,
        object({ items: { type: 'array', items: SESSION } }),
        [401, 403, 404],
        SIGNED_IN,
      ),
      delete: operation(
        id('revokeAllSessions'),
        tag,
        'Sign out everywhere',
        undefined,
        object({ revoked: { type: 'integer' } }),
        [401, 403, 404],
        SIGNED_IN,
      ),
    },
    [`${base}/sessions/{id}`]: {
      parameters: [
        { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
        RECORD_PARAM,
      ],
      delete: operation(
        id('revokeSession'),
        tag,
        'Revoke one of your sessions',
        undefined,
        undefined,
        [401, 403, 404],
        SIGNED_IN,
      ),
    },
    [`${base}/request-verification`]: post(
      'requestVerification',
      'Mail a verification link (same answer for any address)',
      object({ email: EMAIL }, ['email']),
      undefined,
      [400, 404, 429],
    ),
    [`${base}/verify-email`]: post(
      'verifyEmail',
      'Confirm the address with the mailed token',
      object({ token: TOKEN }, ['token']),
      undefined,
      [400, 404],
    ),
    [`${base}/request-password-reset`]: post(
      'requestPasswordReset',
      'Mail a password reset link (same answer for any address)',
      object({ email: EMAIL }, ['email']),
      undefined,
      [400, 404, 429],
    ),
    [`${base}/reset-password`]: post(
      'resetPassword',
      'Set a new password with the mailed token; ends every session',
      object(
        {
          token: TOKEN,
          password: { type: 'string', writeOnly: true, minLength: 8, maxLength: 256 },
        },
        ['token', 'password'],
      ),
      undefined,
      [400, 404],
    ),
    [`${base}/request-email-change`]: post(
      'requestEmailChange',
      'Mail a confirmation link to a new address',
      object({ newEmail: EMAIL }, ['newEmail']),
      undefined,
      [400, 401, 403, 404],
      SIGNED_IN,
    ),
    [`${base}/confirm-email-change`]: post(
      'confirmEmailChange',
      "Switch to the new address with the mailed token and the account's current password",
      object({ token: TOKEN, password: { type: 'string', writeOnly: true } }, [
        'token',
        'password',
      ]),
      undefined,
      [400, 404],
    ),
    [`${base}/mfa`]: {
      parameters: [RECORD_PARAM],
      get: operation(
        id('mfaStatus'),
        tag,
        'Whether TOTP is on',
        undefined,
        object({ enabled: { type: 'boolean' }, recoveryCodesLeft: { type: 'integer' } }),
        [401, 403, 404],
        SIGNED_IN,
      ),
    },
    [`${base}/mfa/reset`]: post(
      'resetMfa',
      "Superusers: turn another record's TOTP off (a lost authenticator)",
      object({ record: { type: 'string', maxLength: 64 } }, ['record']),
      undefined,
      [400, 401, 403, 404],
      SIGNED_IN,
    ),
    [`${base}/mfa/totp`]: post(
      'enrolTotp',
      'Start TOTP enrolment (the secret is shown once)',
      undefined,
      object({ secret: { type: 'string' }, otpauthUrl: { type: 'string' } }),
      [401, 403, 404, 409],
      SIGNED_IN,
    ),
    [`${base}/mfa/totp/confirm`]: post(
      'confirmTotp',
      'Turn TOTP on with a first code (recovery codes shown once)',
      object({ code: CODE }, ['code']),
      object({ recoveryCodes: { type: 'array', items: { type: 'string' } } }),
      [400, 401, 403, 404],
      SIGNED_IN,
    ),
    [`${base}/mfa/totp/disable`]: post(
      'disableTotp',
      'Turn TOTP off with a valid code',
      object({ code: CODE, recoveryCode: RECOVERY }),
      undefined,
      [400, 401, 403, 404],
      SIGNED_IN,
    ),
    [`${base}/api-keys`]: {
      parameters: [RECORD_PARAM],
      get: operation(
        id('listApiKeys'),
        tag,
        'API keys (never the keys themselves)',
        undefined,
        object({ items: { type: 'array', items: API_KEY } }),
        [401, 403, 404],
        SIGNED_IN,
      ),
      post: operation(
        id('createApiKey'),
        tag,
        'Create an API key (shown once)',
        object(
          {
            name: { type: 'string', maxLength: 100 },
            scopes: SCOPES,
            expiresInDays: { type: 'integer', minimum: 1, maximum: 366 },
            record: { type: 'string', description: 'Owner (superusers only).' },
          },
          ['name', 'scopes'],
        ),
        {
          allOf: [API_KEY, object({ key: str('Send as `Authorization: Bearer erk_…`.') }, ['key'])],
        },
        [400, 401, 403, 404],
        SIGNED_IN,
        201,
      ),
    },
    [`${base}/api-keys/{id}`]: {
      parameters: [
        { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
        RECORD_PARAM,
      ],
      delete: operation(
        id('revokeApiKey'),
        tag,
        'Revoke an API key',
        undefined,
        undefined,
        [401, 403, 404],
        SIGNED_IN,
      ),
    },
  }
}

function operation(
  operationId: string,
  tag: string,
  summary: string,
  request: OpenApiObject | undefined,
  response: OpenApiObject | undefined,
  statuses: ProblemStatus[],
  security?: OpenApiObject[],
  successStatus = 200,
): OpenApiObject {
  const success = response
    ? {
        [successStatus]: {
          description: 'OK',
          content: { 'application/json': { schema: response } },
        },
      }
    : { 204: { description: 'Done; no body.' } }
  return {
    operationId,
    tags: [tag],
    summary,
    ...(security ? { security } : {}),
    ...(request
      ? { requestBody: { required: true, content: { 'application/json': { schema: request } } } }
      : {}),
    responses: {
      ...success,
      ...Object.fromEntries(
        statuses.map((s) => [
          String(s),
          { $ref: `#/components/responses/${PROBLEM_RESPONSES[s]}` },
        ]),
      ),
    },
  }
}
