import { pushIssue } from '../../core/errors/field-issues.js'
import type { FieldIssues } from '../../core/errors/index.js'

/**
 * The settings a superuser may change at run time, each a key of `_admin_settings` with its
 * JSON value, and the environment variable that fixes it when set (the environment always
 * wins: an operator's deployment files are the source of truth where they speak).
 */
export const SETTING_KEYS = [
  'smtp.host',
  'smtp.port',
  'smtp.secure',
  'smtp.user',
  'smtp.password',
  'smtp.from',
  'oauth.providers',
  'rateLimits.read',
  'rateLimits.write',
  'rateLimits.auth',
  'rateLimits.superuserRead',
  'rateLimits.superuserWrite',
  'rateLimits.apiKeyRead',
  'rateLimits.apiKeyWrite',
  'cors.origins',
] as const

export type SettingKey = (typeof SETTING_KEYS)[number]

/** Write-only: the API says whether one is set, never what it is. */
export const SECRET_KEYS: ReadonlySet<SettingKey> = new Set(['smtp.password'])

/** The variable that fixes each key when present in the environment. */
export const ENVIRONMENT_VARIABLES: Record<SettingKey, string> = {
  'smtp.host': 'ER_SMTP_URL',
  'smtp.port': 'ER_SMTP_URL',
  'smtp.secure': 'ER_SMTP_URL',
  'smtp.user': 'ER_SMTP_URL',
  'smtp.password': 'ER_SMTP_URL',
  'smtp.from': 'ER_MAIL_FROM',
  'oauth.providers': 'ER_OAUTH_PROVIDERS',
  'rateLimits.read': 'ER_RATE_LIMIT_READ',
  'rateLimits.write': 'ER_RATE_LIMIT_WRITE',
  'rateLimits.auth': 'ER_RATE_LIMIT_AUTH',
  'rateLimits.superuserRead': 'ER_RATE_LIMIT_SUPERUSER_READ',
  'rateLimits.superuserWrite': 'ER_RATE_LIMIT_SUPERUSER_WRITE',
  'rateLimits.apiKeyRead': 'ER_RATE_LIMIT_API_KEY_READ',
  'rateLimits.apiKeyWrite': 'ER_RATE_LIMIT_API_KEY_WRITE',
  'cors.origins': 'ER_CORS_ORIGINS',
}

/** A rate budget as the API spells it; `"off"` turns the class off. */
export type BudgetSetting = { max: number; windowSeconds: number } | 'off'

/** One sign-in provider as stored; `clientSecret` never leaves the server. */
export interface OAuthProviderSetting {
  name: string
  collection: string
  preset?: 'google' | 'github'
  issuer?: string
  clientId: string
  clientSecret?: string
  enabled: boolean
}

export const LIMITS = {
  text: 256,
  host: 253,
  providers: 20,
  origins: 100,
  origin: 200,
  budgetMax: 1_000_000,
  windowSeconds: 86_400,
} as const

const HOST = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[[0-9A-Fa-f:.]+\]$/
const NAME = /^[a-z][a-z0-9_-]{0,31}$/
/** One line, no header injection, one address at most 320 characters (RFC 5321 §4.5.3.1). */
const MAIL_FROM = /^[^\r\n]{1,320}$/

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

const shortText = (issues: FieldIssues, key: string, value: unknown, max: number = LIMITS.text) => {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    pushIssue(issues, key, 'type', `must be text of 1 to ${max} characters`)
    return false
  }
  if ([...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) {
    pushIssue(issues, key, 'control', 'must not contain control characters')
    return false
  }
  return true
}

/**
 * Checks one given value (never `null`, which resets or clears). Pushes an issue naming the key
 * and returns false when the value is not acceptable; messages never quote a secret.
 */
export function checkSettingValue(issues: FieldIssues, key: SettingKey, value: unknown): boolean {
  const before = Object.keys(issues).length
  switch (key) {
    case 'smtp.host':
      if (shortText(issues, key, value, LIMITS.host) && !HOST.test(value as string))
        pushIssue(issues, key, 'format', 'must be a host name or an address')
      break
    case 'smtp.port':
      if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 65535)
        pushIssue(issues, key, 'range', 'must be a whole number from 1 to 65535')
      break
    case 'smtp.secure':
      if (typeof value !== 'boolean') pushIssue(issues, key, 'type', 'must be true or false')
      break
    case 'smtp.user':
    case 'smtp.password':
      shortText(issues, key, value)
      break
    case 'smtp.from':
      if (typeof value !== 'string' || !MAIL_FROM.test(value) || !value.includes('@'))
        pushIssue(issues, key, 'format', 'must be one address on one line ("Name <a@b.c>")')
      break
    case 'oauth.providers':
      checkProviders(issues, value)
      break
    case 'cors.origins':
      checkOrigins(issues, value)
      break
    default:
      checkBudget(issues, key, value)
  }
  return Object.keys(issues).length === before
}

function checkBudget(issues: FieldIssues, key: string, value: unknown): void {
  if (value === 'off') return
  const ok =
    isObject(value) &&
    Object.keys(value).every((k) => k === 'max' || k === 'windowSeconds') &&
    Number.isInteger(value.max) &&
    (value.max as number) >= 1 &&
    (value.max as number) <= LIMITS.budgetMax &&
    Number.isInteger(value.windowSeconds) &&
    (value.windowSeconds as number) >= 1 &&
    (value.windowSeconds as number) <= LIMITS.windowSeconds
  if (!ok) {
    pushIssue(
      issues,
      key,
      'format',
      `must be { max: 1…${LIMITS.budgetMax}, windowSeconds: 1…${LIMITS.windowSeconds} }, or "off"`,
    )
  }
}

function checkOrigins(issues: FieldIssues, value: unknown): void {
  const key = 'cors.origins'
  if (!Array.isArray(value) || value.length > LIMITS.origins) {
    pushIssue(issues, key, 'type', `must be a list of at most ${LIMITS.origins} origins`)
    return
  }
  value.forEach((origin, i) => {
    let url: URL | undefined
    try {
      url =
        typeof origin === 'string' && origin.length <= LIMITS.origin ? new URL(origin) : undefined
    } catch {
      url = undefined
    }
    // Exact origins only: a wildcard with credentials would hand any site the user's session.
    if (!url || !['http:', 'https:'].includes(url.protocol) || url.origin !== origin) {
      pushIssue(issues, `${key}.${i}`, 'format', 'must be an origin like https://app.example.com')
    }
  })
}

const PROVIDER_KEYS = new Set([
  'name',
  'collection',
  'preset',
  'issuer',
  'clientId',
  'clientSecret',
  'enabled',
])

function checkProviders(issues: FieldIssues, value: unknown): void {
  const key = 'oauth.providers'
  if (!Array.isArray(value) || value.length > LIMITS.providers) {
    pushIssue(issues, key, 'type', `must be a list of at most ${LIMITS.providers} providers`)
    return
  }
  const seen = new Set<string>()
  value.forEach((p, i) => {
    const at = `${key}.${i}`
    if (!isObject(p)) return pushIssue(issues, at, 'type', 'must be an object')
    const unknown = Object.keys(p).find((k) => !PROVIDER_KEYS.has(k))
    if (unknown) pushIssue(issues, `${at}.${unknown}`, 'unknown', 'is not a provider setting')
    if (typeof p.name !== 'string' || !NAME.test(p.name))
      pushIssue(issues, `${at}.name`, 'format', 'must be 1–32 of a-z, 0-9, _ and -')
    if (typeof p.collection !== 'string' || !NAME.test(p.collection.replace(/^_/, 'x')))
      pushIssue(issues, `${at}.collection`, 'format', 'must name an auth collection')
    const id = `${String(p.collection)}/${String(p.name)}`
    if (seen.has(id)) pushIssue(issues, `${at}.name`, 'duplicate', 'is used twice')
    seen.add(id)
    shortText(issues, `${at}.clientId`, p.clientId)
    if (p.clientSecret !== undefined && p.clientSecret !== null)
      shortText(issues, `${at}.clientSecret`, p.clientSecret)
    if (typeof p.enabled !== 'boolean')
      pushIssue(issues, `${at}.enabled`, 'type', 'must be true or false')
    if (p.preset !== undefined && p.preset !== 'google' && p.preset !== 'github')
      pushIssue(issues, `${at}.preset`, 'format', 'must be "google" or "github"')
    if ((p.preset === undefined) === (p.issuer === undefined))
      pushIssue(issues, `${at}.issuer`, 'required', 'give either an issuer URL or a preset')
    if (p.issuer !== undefined) checkIssuer(issues, `${at}.issuer`, p.issuer)
  })
}

/** https only, but plain http on loopback for development (as config.ts allows). */
function checkIssuer(issues: FieldIssues, key: string, issuer: unknown): void {
  let url: URL | undefined
  try {
    url = typeof issuer === 'string' && issuer.length <= LIMITS.origin ? new URL(issuer) : undefined
  } catch {
    url = undefined
  }
  const loopback = url && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)
  if (!url || !(url.protocol === 'https:' || (url.protocol === 'http:' && loopback))) {
    pushIssue(issues, key, 'format', 'must be an https URL (http only on loopback)')
  }
}
