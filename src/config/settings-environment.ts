import type { SettingKey } from '../services/settings/settings-catalogue.js'
import { ENVIRONMENT_VARIABLES } from '../services/settings/settings-catalogue.js'
import type { SettingsEnvironment } from '../services/settings/settings-service.js'
import type { Config, RateBudget } from './config.js'

const budget = (b: RateBudget | null) =>
  b === null ? 'off' : { max: b.max, windowSeconds: Math.round(b.windowMs / 1000) }

/**
 * The settings as the configuration has them: `fixed` for those whose variable is set (the
 * Settings API refuses to change them), `defaults` for the rest.
 *
 * @example
 *   settingsEnvironment(loadConfig({}, { ER_CORS_ORIGINS: 'https://app.example' }))
 *   // { fixed: { 'cors.origins': ['https://app.example'] }, defaults: { … } }
 */
export function settingsEnvironment(config: Config): SettingsEnvironment {
  const smtp = config.smtpUrl ? new URL(config.smtpUrl) : undefined
  const secure = smtp?.protocol === 'smtps:'
  const { rateLimit, callerRateLimit } = config.ops
  const values: Record<SettingKey, unknown> = {
    'smtp.host': smtp?.hostname,
    'smtp.port': smtp ? Number(smtp.port || (secure ? 465 : 587)) : 587,
    'smtp.secure': secure,
    'smtp.user': smtp?.username ? decodeURIComponent(smtp.username) : undefined,
    'smtp.password': smtp?.password ? decodeURIComponent(smtp.password) : undefined,
    'smtp.from': config.mailFrom,
    'oauth.providers': config.oauthProviders.map((p) => ({ ...p, enabled: true })),
    'rateLimits.read': budget(rateLimit.read),
    'rateLimits.write': budget(rateLimit.write),
    'rateLimits.auth': budget(rateLimit.auth),
    'rateLimits.superuserRead': budget(callerRateLimit.superuser.read),
    'rateLimits.superuserWrite': budget(callerRateLimit.superuser.write),
    'rateLimits.apiKeyRead': budget(callerRateLimit.apiKey.read),
    'rateLimits.apiKeyWrite': budget(callerRateLimit.apiKey.write),
    'cors.origins': config.ops.corsOrigins,
  }
  const fixed: SettingsEnvironment['fixed'] = {}
  const defaults: SettingsEnvironment['defaults'] = {}
  for (const [key, value] of Object.entries(values) as [SettingKey, unknown][]) {
    if (config.settingVariables.includes(ENVIRONMENT_VARIABLES[key])) fixed[key] = value
    else defaults[key] = value
  }
  return { fixed, defaults }
}
