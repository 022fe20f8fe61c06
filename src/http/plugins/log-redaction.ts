/**
 * The last line of defence for secrets in logs: every line pino writes passes through
 * {@link scrubSecrets} before it reaches the stream, so a token or password that slipped into an
 * error message, a URL or a logged object is still replaced. Structured fields are also removed
 * by pino's own `redact` paths ({@link REDACT_PATHS}), which is cheaper and exact.
 */

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.password',
  '*.passwordConfirm',
  '*.oldPassword',
  '*.token',
  '*.refreshToken',
  '*.secret',
  'body.password',
  'body.token',
  'body.refreshToken',
]

const SECRET_KEY =
  '[A-Za-z_]*(?:password|secret|token|apikey|api_key|authorization|cookie)[A-Za-z_]*'

const PATTERNS: [RegExp, string][] = [
  // "password":"…" in the line itself (escapes inside the value are skipped over).
  [new RegExp(`("${SECRET_KEY}"\\s*:\\s*")((?:[^"\\\\]|\\\\.)*)(")`, 'gi'), '$1[redacted]$3'],
  // \"password\":\"…\" inside a string field, such as an error message quoting a body.
  [
    new RegExp(`(\\\\"${SECRET_KEY}\\\\"\\s*:\\s*\\\\")((?:[^"\\\\]|\\\\[^"])*)(\\\\")`, 'gi'),
    '$1[redacted]$3',
  ],
  // password=… in query strings and form bodies.
  [new RegExp(`(${SECRET_KEY}=)([^&\\s"\\\\]+)`, 'gi'), '$1[redacted]'],
  // Bearer credentials and anything shaped like a JWT, wherever they appear.
  [/(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1[redacted]'],
  [/eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, '[redacted-jwt]'],
]

/** Replaces secrets in one serialised log line. */
export function scrubSecrets(line: string): string {
  let out = line
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement)
  return out
}
