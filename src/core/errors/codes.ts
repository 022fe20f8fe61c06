/**
 * The error catalogue. Every error the engine reports has a stable code here; the HTTP layer
 * turns it into RFC 9457 problem details with this status and title. `docs/reference/errors.md`
 * lists every code and a test keeps the two in step. A removed code is never reused.
 */
export const errorCatalogue = {
  ER_VALIDATION_FAILED: { status: 400, title: 'Invalid input' },
  ER_REQUEST_MALFORMED: { status: 400, title: 'Malformed request' },
  ER_FILTER_SYNTAX: { status: 400, title: 'Invalid filter syntax' },
  ER_FILTER_UNKNOWN_FIELD: { status: 400, title: 'Unknown field in filter' },
  ER_FILTER_TYPE_MISMATCH: { status: 400, title: 'Type mismatch in filter' },
  ER_FILTER_LIMIT: { status: 400, title: 'Filter exceeds a limit' },
  ER_FILTER_MACRO_NOT_ALLOWED: { status: 400, title: 'Macro not allowed here' },
  ER_QUERY_INVALID: { status: 400, title: 'Invalid query parameter' },
  ER_CURSOR_INVALID: { status: 400, title: 'Invalid cursor' },
  ER_SCHEMA_INVALID: { status: 400, title: 'Invalid collection definition' },
  ER_BATCH_FAILED: { status: 400, title: 'Batch request failed' },
  ER_AUTH_REQUIRED: { status: 401, title: 'Authentication required' },
  ER_AUTH_INVALID_CREDENTIALS: { status: 400, title: 'Invalid credentials' },
  ER_AUTH_TOKEN_INVALID: { status: 401, title: 'Invalid or expired token' },
  ER_AUTH_REFRESH_INVALID: { status: 401, title: 'Invalid refresh token' },
  ER_AUTH_THROTTLED: { status: 429, title: 'Too many failed sign-in attempts' },
  ER_AUTH_ORIGIN_REJECTED: { status: 403, title: 'Cross-site request rejected' },
  ER_AUTH_LINK_INVALID: { status: 400, title: 'Invalid or expired link' },
  ER_AUTH_OAUTH_PROVIDER_NOT_FOUND: { status: 404, title: 'Unknown sign-in provider' },
  ER_AUTH_OAUTH_STATE_INVALID: { status: 400, title: 'Invalid or expired sign-in attempt' },
  ER_AUTH_OAUTH_REDIRECT_REJECTED: { status: 400, title: 'Redirect target not allowed' },
  ER_AUTH_OAUTH_FAILED: { status: 400, title: 'Sign-in with the provider failed' },
  ER_AUTH_OAUTH_SIGNUP_CLOSED: { status: 403, title: 'No account for this sign-in' },
  ER_AUTH_OAUTH_EMAIL_CONFLICT: { status: 409, title: 'E-mail belongs to another account' },
  ER_FORBIDDEN: { status: 403, title: 'Forbidden' },
  ER_COLLECTION_NOT_FOUND: { status: 404, title: 'Collection not found' },
  ER_RECORD_NOT_FOUND: { status: 404, title: 'Record not found' },
  ER_ROUTE_NOT_FOUND: { status: 404, title: 'Not found' },
  ER_METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  ER_COLLECTION_EXISTS: { status: 409, title: 'Collection already exists' },
  ER_RECORD_CONFLICT: { status: 409, title: 'Unique constraint violated' },
  ER_RELATION_RESTRICTED: { status: 409, title: 'Record is still referenced' },
  ER_RELATION_MISSING: { status: 400, title: 'Related record does not exist' },
  ER_SCHEMA_CONFLICT: { status: 409, title: 'Schema change conflicts with existing data' },
  ER_BODY_TOO_LARGE: { status: 413, title: 'Request body too large' },
  ER_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  ER_RATE_LIMITED: { status: 429, title: 'Too many requests' },
  ER_INTERNAL: { status: 500, title: 'Internal server error' },
  ER_UNAVAILABLE: { status: 503, title: 'Service unavailable' },
} as const satisfies Record<string, { status: number; title: string }>

export type ErrorCode = keyof typeof errorCatalogue
