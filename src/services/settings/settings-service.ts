import { systemClock, type Clock } from '../../core/clock.js'
import { randomBytes } from 'node:crypto'
import type { Bus } from '../../adapters/bus/bus.js'
import type { Store } from '../../adapters/store/store.js'
import { EngineError, type FieldIssues } from '../../core/errors/index.js'
import { pushIssue, throwIfIssues } from '../../core/errors/field-issues.js'
import { appendAudit } from '../audit/audit-log.js'
import type { RequestContext } from '../context.js'
import {
  ENVIRONMENT_VARIABLES,
  SECRET_KEYS,
  SETTING_KEYS,
  checkSettingValue,
  type OAuthProviderSetting,
  type SettingKey,
} from './settings-catalogue.js'

/** The bus channel on which a node announces the settings version it just committed. */
export const SETTINGS_CHANNEL = 'settings'
/** The `_settings` key of the version, changed by every write of `_admin_settings`. */
export const SETTINGS_VERSION_KEY = 'admin_settings_version'

/**
 * What the environment says: `fixed` holds the value of every key whose variable is set (the
 * API refuses to change those), `defaults` what applies when neither it nor the database does.
 */
export interface SettingsEnvironment {
  fixed: Partial<Record<SettingKey, unknown>>
  defaults: Partial<Record<SettingKey, unknown>>
}

export type SettingSource = 'environment' | 'database' | 'default'

/** One key as the API describes it: a secret only says whether it is set. */
export type DescribedSetting = {
  source: SettingSource
  /** The variable that fixes it (present when `source` is `environment`). */
  variable?: string
} & ({ value: unknown } | { secret: true; set: boolean })

/** Largest PATCH body, in keys and JSON characters: a settings change is small. */
const MAX_BODY_CHARS = 64 * 1024

const forbidden = () =>
  new EngineError('ER_FORBIDDEN', 'Only superusers signed in as such may read or change settings.')

/** Superusers signed in as such: settings hold secrets and open the API to other sites. */
function requireSettingsAdmin(ctx: RequestContext): void {
  if (!ctx.auth) throw new EngineError('ER_AUTH_REQUIRED', 'Sign in as a superuser.')
  if (!ctx.auth.isSuperuser || ctx.auth.apiKey) throw forbidden()
}

export type SettingsService = Awaited<ReturnType<typeof createSettingsService>>

/**
 * Settings stored in `_admin_settings` and applied without restart: `value(key)` is read on
 * every use (a Map lookup), and a node reloads the rows when the version in `_settings` moves,
 * told by the bus at once (`watch`) or finding it itself on its poll (`recheckMs`).
 *
 * @example
 *   const settings = await createSettingsService({ store, environment })
 *   settings.value('cors.origins') // ['https://app.example.com']
 */
export async function createSettingsService(options: {
  store: Store
  environment?: SettingsEnvironment
  /** How often a node without a shared bus looks for another node's change (default 5 s). */
  recheckMs?: number
  /** The engine's clock: the time of a saved setting and of its audit entry. */
  clock?: Clock
}) {
  const { store } = options
  const clock = options.clock ?? systemClock
  const environment = options.environment ?? { fixed: {}, defaults: {} }
  let stored = new Map<string, unknown>()
  let version = ''
  const listeners = new Set<() => void>()
  let bus: Bus | undefined
  let unwatch: (() => Promise<void>) | undefined

  async function reload(): Promise<void> {
    const nextVersion = (await store.getSetting(SETTINGS_VERSION_KEY)) ?? ''
    const rows = await store.adminSettings.all()
    stored = new Map([...rows].map(([k, v]) => [k, JSON.parse(v) as unknown]))
    version = nextVersion
    for (const listener of listeners) listener()
  }
  await reload()

  const timer =
    options.recheckMs === 0
      ? undefined
      : setInterval(() => {
          void store
            .getSetting(SETTINGS_VERSION_KEY)
            .then((v) => ((v ?? '') !== version ? reload() : undefined))
            .catch(() => {})
        }, options.recheckMs ?? 5000)
  timer?.unref()

  function sourceOf(key: SettingKey): SettingSource {
    if (key in environment.fixed) return 'environment'
    return stored.has(key) ? 'database' : 'default'
  }

  /** The value in force: the environment's, else the database's, else the default. */
  function value(key: SettingKey): unknown {
    if (key in environment.fixed) return environment.fixed[key]
    return stored.has(key) ? stored.get(key) : environment.defaults[key]
  }

  function describeKey(key: SettingKey): DescribedSetting {
    const source = sourceOf(key)
    const variable = source === 'environment' ? { variable: ENVIRONMENT_VARIABLES[key] } : {}
    if (SECRET_KEYS.has(key)) {
      const v = value(key)
      return { source, ...variable, secret: true, set: typeof v === 'string' && v !== '' }
    }
    if (key === 'oauth.providers') {
      const list = (value(key) ?? []) as OAuthProviderSetting[]
      return {
        source,
        ...variable,
        value: list.map(({ clientSecret, ...rest }) => ({
          ...rest,
          clientSecretSet: typeof clientSecret === 'string' && clientSecret !== '',
        })),
      }
    }
    return { source, ...variable, value: value(key) ?? null }
  }

  function describe(): Record<SettingKey, DescribedSetting> {
    return Object.fromEntries(SETTING_KEYS.map((k) => [k, describeKey(k)])) as Record<
      SettingKey,
      DescribedSetting
    >
  }

  /**
   * Checks a PATCH body: known keys only, none fixed by the environment, each value valid.
   * `null` resets a key to its default (for a secret: clears it); `"off"` turns a rate class off.
   */
  function parsePatch(body: unknown): Map<SettingKey, unknown> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new EngineError('ER_VALIDATION_FAILED', 'The body must be an object of settings.', {
        errors: { body: [{ code: 'type', message: 'must be an object of settings' }] },
      })
    }
    if (JSON.stringify(body).length > MAX_BODY_CHARS) {
      throw new EngineError('ER_VALIDATION_FAILED', 'The settings change is too large.', {
        errors: { body: [{ code: 'too_large', message: `at most ${MAX_BODY_CHARS} characters` }] },
      })
    }
    const issues: FieldIssues = {}
    const fixed: FieldIssues = {}
    const changes = new Map<SettingKey, unknown>()
    for (const [key, raw] of Object.entries(body as Record<string, unknown>)) {
      if (!(SETTING_KEYS as readonly string[]).includes(key)) {
        pushIssue(issues, key, 'unknown', 'is not a setting')
        continue
      }
      const k = key as SettingKey
      if (k in environment.fixed) {
        const name = ENVIRONMENT_VARIABLES[k]
        pushIssue(fixed, k, 'fixed_by_environment', `is set by ${name}; change it there`)
        continue
      }
      const given = raw
      if (given === null) {
        changes.set(k, null)
        continue
      }
      if (k === 'oauth.providers' && Array.isArray(given)) {
        if (checkSettingValue(issues, k, given)) changes.set(k, withKeptSecrets(given, issues))
        continue
      }
      if (checkSettingValue(issues, k, given)) changes.set(k, given)
    }
    throwIfIssues(fixed, 'ER_SETTING_FIXED')
    throwIfIssues(issues, 'ER_VALIDATION_FAILED')
    return changes
  }

  /**
   * A provider given without `clientSecret` keeps the one stored under its collection and name;
   * `null` clears it. An enabled provider needs one.
   */
  function withKeptSecrets(given: unknown[], issues: FieldIssues): OAuthProviderSetting[] {
    const before = ((stored.get('oauth.providers') ?? []) as OAuthProviderSetting[]).map(
      (p) => [`${p.collection}/${p.name}`, p.clientSecret] as const,
    )
    const secrets = new Map(before)
    return (given as (OAuthProviderSetting & { clientSecret?: string | null })[]).map((p, i) => {
      const { clientSecret, ...rest } = p
      const secret =
        clientSecret === null
          ? undefined
          : (clientSecret ?? secrets.get(`${p.collection}/${p.name}`))
      if (p.enabled && !secret) {
        pushIssue(issues, `oauth.providers.${i}.clientSecret`, 'required', 'is needed to enable it')
      }
      return { ...rest, ...(secret ? { clientSecret: secret } : {}) }
    })
  }

  return {
    value,
    /** Where the value in force comes from. */
    source: sourceOf,
    /** Changes with every committed settings write (this node's view). */
    version: () => version,
    describe,
    /** Called after this node applied a change (its own or another node's). */
    onChange(listener: () => void): () => void {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },

    /** `GET /api/admin/settings`: every key, its source, and its value (secrets: only `set`). */
    async read(ctx: RequestContext) {
      requireSettingsAdmin(ctx)
      // Fresh from the database: the screen shows what another node just saved.
      await reload()
      return describe()
    },

    /**
     * `PATCH /api/admin/settings`: all given keys or none; the audit entry names the keys
     * changed and never a value (a secret's least of all). Other nodes are told on the bus.
     */
    async update(ctx: RequestContext, body: unknown) {
      requireSettingsAdmin(ctx)
      const changes = parsePatch(body)
      if (changes.size === 0) return describe()
      const now = clock.now().toISOString()
      await store.transaction(async (tx) => {
        await tx.lockKey(SETTINGS_VERSION_KEY)
        for (const [key, given] of changes) {
          if (given === null) await tx.adminSettings.remove(key)
          else await tx.adminSettings.put(key, JSON.stringify(given), now)
        }
        await tx.setSetting(SETTINGS_VERSION_KEY, `${now}.${randomBytes(4).toString('hex')}`)
        await appendAudit(
          tx,
          ctx,
          {
            action: 'settings.update',
            target: 'settings',
            detail: {
              keys: [...changes.keys()].sort(),
              cleared: [...changes].filter(([, v]) => v === null).map(([k]) => k),
            },
          },
          clock,
        )
      })
      await reload()
      await bus?.publish(SETTINGS_CHANNEL, version).catch(() => {})
      return describe()
    },

    /** Reloads when another node announces a version this one does not have. */
    async watch(onto: Bus, onError: (error: unknown) => void): Promise<void> {
      bus = onto
      unwatch = await onto.subscribe(SETTINGS_CHANNEL, (announced) => {
        if (announced !== version) void reload().catch(onError)
      })
    },

    requireSettingsAdmin,

    async close(): Promise<void> {
      if (timer) clearInterval(timer)
      await unwatch?.()
    },
  }
}
