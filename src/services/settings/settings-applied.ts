import type { Mailer } from '../../adapters/mailer/mailer.js'
import { EngineError } from '../../core/errors/index.js'
import type { OAuthProviderConfig } from '../auth/auth-oauth-providers.js'
import type { BudgetSetting, OAuthProviderSetting, SettingKey } from './settings-catalogue.js'
import type { SettingsService } from './settings-service.js'

/** SMTP server settings as a mailer factory takes them. */
export interface SmtpSettings {
  host: string
  port: number
  secure: boolean
  user?: string | undefined
  password?: string | undefined
  from: string
}

/** Makes an SMTP mailer (main.ts and tests pass the nodemailer adapter). */
export type SmtpMailerFactory = (smtp: SmtpSettings) => Mailer

type Settings = Pick<SettingsService, 'value' | 'source'>

const fromDatabase = (settings: Settings, key: SettingKey) => settings.source(key) === 'database'

/**
 * The SMTP server saved in the settings, when one is (a host set there); `undefined` leaves
 * mail to the mailer the engine started with (`ER_SMTP_URL`, or the file outbox).
 */
export function smtpFromSettings(
  settings: Settings,
  defaultFrom: string,
): SmtpSettings | undefined {
  if (!fromDatabase(settings, 'smtp.host')) return undefined
  const secure = settings.value('smtp.secure') === true
  const port = settings.value('smtp.port')
  return {
    host: String(settings.value('smtp.host')),
    port: typeof port === 'number' ? port : secure ? 465 : 587,
    secure,
    user: settings.value('smtp.user') as string | undefined,
    password: settings.value('smtp.password') as string | undefined,
    from: (settings.value('smtp.from') as string | undefined) ?? defaultFrom,
  }
}

/**
 * A mailer that follows the settings: each message goes through the SMTP server saved there
 * (rebuilt when those settings change), or through `base` when none is saved.
 */
export function createSettingsMailer(options: {
  base: Mailer | undefined
  settings: Settings
  smtpMailer: SmtpMailerFactory | undefined
  defaultFrom: string
}): Mailer & { via(): 'settings' | 'base' } {
  let built: { key: string; mailer: Mailer } | undefined
  const current = (): Mailer | undefined => {
    const smtp = options.smtpMailer
      ? smtpFromSettings(options.settings, options.defaultFrom)
      : undefined
    if (!smtp || !options.smtpMailer) return options.base
    const key = JSON.stringify(smtp)
    if (built?.key !== key) {
      void built?.mailer.close().catch(() => {})
      built = { key, mailer: options.smtpMailer(smtp) }
    }
    return built.mailer
  }
  return {
    via: () => (current() === options.base ? 'base' : 'settings'),
    async send(message) {
      const mailer = current()
      if (!mailer)
        throw new EngineError('ER_UNAVAILABLE', 'No mailer is configured: save an SMTP host.')
      await mailer.send(message)
    },
    async close() {
      await built?.mailer.close()
      await options.base?.close()
    },
  }
}

const toBudget = (value: BudgetSetting) =>
  value === 'off' ? null : { max: value.max, windowMs: value.windowSeconds * 1000 }

/** A rate budget saved in the settings, or `undefined` where the server's own applies. */
export function budgetFromSettings(
  settings: Settings,
  key: Extract<SettingKey, `rateLimits.${string}`>,
): { max: number; windowMs: number } | null | undefined {
  if (!fromDatabase(settings, key)) return undefined
  return toBudget(settings.value(key) as BudgetSetting)
}

/** The CORS origins saved in the settings, or `undefined` where the server's own apply. */
export function corsFromSettings(settings: Settings): readonly string[] | undefined {
  return fromDatabase(settings, 'cors.origins')
    ? (settings.value('cors.origins') as string[])
    : undefined
}

/** The enabled sign-in providers saved in the settings (none where the environment fixes them). */
export function oauthFromSettings(settings: Settings): OAuthProviderConfig[] {
  if (!fromDatabase(settings, 'oauth.providers')) return []
  const saved = settings.value('oauth.providers') as OAuthProviderSetting[]
  return saved
    .filter((p) => p.enabled && p.clientSecret)
    .map((p) => {
      const base = {
        name: p.name,
        collection: p.collection,
        clientId: p.clientId,
        clientSecret: p.clientSecret as string,
      }
      return p.preset ? { ...base, preset: p.preset } : { ...base, issuer: p.issuer as string }
    })
}
