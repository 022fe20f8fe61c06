import type { OAuthProviderConfig } from '../../services/auth/auth-oauth-providers.js'
import type { SettingsService } from '../../services/settings/settings-service.js'
import {
  budgetFromSettings,
  corsFromSettings,
  oauthFromSettings,
} from '../../services/settings/settings-applied.js'
import type { RateLimitOptions } from './rate-limit.js'

type Budgets = Pick<RateLimitOptions, 'budgets' | 'callerBudgets'>
type Budget = RateLimitOptions['budgets']['read']
type CallerBudget = { read?: Budget | undefined; write?: Budget | undefined }

/**
 * What the server applies per request, from the settings in force over the options it was
 * built with: computed once per settings change (a request reads a field, nothing more).
 */
export function liveSettings(
  settings: Pick<SettingsService, 'value' | 'source' | 'onChange'>,
  options: {
    cors?: { origins: readonly string[] } | undefined
    rateLimit?: Budgets | undefined
    oauth?: { providers: readonly OAuthProviderConfig[] } | undefined
  },
) {
  let cors: readonly string[] = []
  let budgets: Budgets = { budgets: { read: null, write: null, auth: null } }
  let providers: readonly OAuthProviderConfig[] = []

  const pick = <T>(saved: T | undefined, own: T): T => (saved === undefined ? own : saved)

  function compute(): void {
    cors = corsFromSettings(settings) ?? options.cors?.origins ?? []
    const own = options.rateLimit ?? budgets
    const su = own.callerBudgets?.superuser ?? {}
    const key = own.callerBudgets?.apiKey ?? {}
    const saved = (k: Parameters<typeof budgetFromSettings>[1]) => budgetFromSettings(settings, k)
    // A class given neither by the options nor the settings stays absent: the person's applies.
    const caller = (read: Budget | undefined, write: Budget | undefined, base: CallerBudget) => ({
      ...(base.read !== undefined || read !== undefined ? { read: pick(read, base.read) } : {}),
      ...(base.write !== undefined || write !== undefined
        ? { write: pick(write, base.write) }
        : {}),
    })
    budgets = {
      budgets: {
        read: pick(saved('rateLimits.read'), own.budgets.read),
        write: pick(saved('rateLimits.write'), own.budgets.write),
        auth: pick(saved('rateLimits.auth'), own.budgets.auth),
      },
      callerBudgets: {
        superuser: caller(
          saved('rateLimits.superuserRead'),
          saved('rateLimits.superuserWrite'),
          su,
        ),
        apiKey: caller(saved('rateLimits.apiKeyRead'), saved('rateLimits.apiKeyWrite'), key),
      },
    }
    providers = [...(options.oauth?.providers ?? []), ...oauthFromSettings(settings)]
  }
  compute()
  const stop = settings.onChange(compute)
  return {
    corsOrigins: () => cors,
    rateLimits: () => budgets,
    oauthProviders: () => providers,
    stop,
  }
}
