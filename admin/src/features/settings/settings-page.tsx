import { useCallback, useEffect, useState, type ReactNode } from 'react'
import { api, ApiProblem } from '../../lib/api'
import { OAuthProviders, type ProviderDraft } from './oauth-providers'

/** One key as `GET /api/admin/settings` describes it (a secret says only whether it is set). */
export interface Setting {
  source: 'environment' | 'database' | 'default'
  variable?: string
  value?: unknown
  secret?: true
  set?: boolean
}
export type Settings = Record<string, Setting>
type Budget = { max: number; windowSeconds: number } | 'off' | null

const SMTP_FIELDS = [
  ['smtp.host', 'Host', 'text'],
  ['smtp.port', 'Port', 'number'],
  ['smtp.user', 'User name', 'text'],
  ['smtp.from', 'From address', 'text'],
] as const
const BUDGETS = [
  ['rateLimits.read', 'Reads'],
  ['rateLimits.write', 'Writes'],
  ['rateLimits.auth', 'Sign-ins'],
  ['rateLimits.superuserRead', 'Superuser reads'],
  ['rateLimits.superuserWrite', 'Superuser writes'],
  ['rateLimits.apiKeyRead', 'API key reads'],
  ['rateLimits.apiKeyWrite', 'API key writes'],
] as const

const idOf = (key: string) => `setting-${key.replace(/\./g, '-')}`

/** The settings screen: SMTP with a test mail, sign-in providers, rate limits and CORS. */
export function SettingsPage() {
  const [settings, setSettings] = useState<Settings | null>(null)
  const [draft, setDraft] = useState<Record<string, unknown>>({})
  const [problem, setProblem] = useState<ApiProblem | null>(null)
  const [notice, setNotice] = useState('')
  const [testTo, setTestTo] = useState('')

  const load = useCallback(async () => {
    setSettings(await api<Settings>('GET', '/api/admin/settings'))
  }, [])
  useEffect(() => {
    load().catch((caught: unknown) => setProblem(toProblem(caught)))
  }, [load])

  if (!settings) {
    return (
      <section aria-busy="true">
        <h1>Settings</h1>
        {problem ? <p role="alert">{problem.message}</p> : <p className="muted">Loading…</p>}
      </section>
    )
  }

  const fixed = (key: string) => settings[key]?.source === 'environment'
  const current = (key: string) => (key in draft ? draft[key] : settings[key]?.value)
  const change = (key: string, value: unknown) => setDraft((d) => ({ ...d, [key]: value }))
  const errorOf = (key: string) => problem?.fieldMessage(key)

  async function save(keys: readonly string[], label: string) {
    const body = Object.fromEntries(keys.filter((k) => k in draft).map((k) => [k, draft[k]]))
    if (Object.keys(body).length === 0) return setNotice(`${label}: nothing changed.`)
    try {
      setSettings(await api<Settings>('PATCH', '/api/admin/settings', body))
      setDraft((d) => Object.fromEntries(Object.entries(d).filter(([k]) => !keys.includes(k))))
      setProblem(null)
      setNotice(`${label} saved; in force now.`)
    } catch (caught) {
      setProblem(toProblem(caught))
      setNotice('')
    }
  }

  async function sendTest() {
    try {
      await api('POST', '/api/admin/settings/test-mail', { to: testTo })
      setProblem(null)
      setNotice(`Test mail sent to ${testTo}.`)
    } catch (caught) {
      setProblem(toProblem(caught))
      setNotice('')
    }
  }

  const field = (key: string, label: string, input: ReactNode) => (
    <div key={key}>
      <label htmlFor={idOf(key)}>{label}</label>
      {input}
      {fixed(key) && (
        <p id={`${idOf(key)}-env`} className="muted">
          Set by the environment variable <code>{settings[key]?.variable}</code> (read-only).
        </p>
      )}
      {errorOf(key) && (
        <p id={`${idOf(key)}-error`} className="error">
          {errorOf(key)}
        </p>
      )}
    </div>
  )
  const describedBy = (key: string) =>
    [fixed(key) && `${idOf(key)}-env`, errorOf(key) && `${idOf(key)}-error`]
      .filter(Boolean)
      .join(' ') || undefined
  const textInput = (key: string, type: string) => (
    <input
      id={idOf(key)}
      type={type}
      value={current(key) === null || current(key) === undefined ? '' : String(current(key))}
      readOnly={fixed(key)}
      aria-invalid={errorOf(key) ? true : undefined}
      aria-describedby={describedBy(key)}
      onChange={(e) => {
        const raw = e.target.value
        change(key, raw === '' ? null : type === 'number' ? Number(raw) : raw)
      }}
    />
  )
  const password = settings['smtp.password']

  return (
    <section className="settings">
      <h1>Settings</h1>
      <p className="muted">
        Saved here, these apply at once on every node. A setting fixed by an environment variable is
        shown read-only: change it where the server is deployed.
      </p>
      <p aria-live="polite" className="notice">
        {notice}
      </p>
      {problem && (
        <p role="alert" className="error">
          {problem.message}
        </p>
      )}

      <fieldset>
        <legend>Mail (SMTP)</legend>
        {SMTP_FIELDS.map(([key, label, type]) => field(key, label, textInput(key, type)))}
        <label className="check">
          <input
            type="checkbox"
            checked={current('smtp.secure') === true}
            disabled={fixed('smtp.secure')}
            onChange={(e) => change('smtp.secure', e.target.checked)}
          />
          TLS from the first byte (port 465)
        </label>
        {field(
          'smtp.password',
          'Password',
          <input
            id={idOf('smtp.password')}
            type="password"
            autoComplete="new-password"
            readOnly={fixed('smtp.password')}
            placeholder={
              password?.set ? 'A password is set: type to replace it' : 'No password set'
            }
            value={typeof draft['smtp.password'] === 'string' ? draft['smtp.password'] : ''}
            aria-describedby={describedBy('smtp.password')}
            onChange={(e) => change('smtp.password', e.target.value)}
          />,
        )}
        {password?.set && !fixed('smtp.password') && (
          <label className="check">
            <input
              type="checkbox"
              checked={draft['smtp.password'] === null}
              onChange={(e) => change('smtp.password', e.target.checked ? null : undefined)}
            />
            Clear the saved password
          </label>
        )}
        <div className="bar">
          <button
            type="button"
            onClick={() =>
              void save(
                [
                  'smtp.host',
                  'smtp.port',
                  'smtp.secure',
                  'smtp.user',
                  'smtp.password',
                  'smtp.from',
                ],
                'Mail settings',
              )
            }
          >
            Save mail settings
          </button>
        </div>
        <div className="bar">
          <label htmlFor="test-mail-to">Send a test mail to</label>
          <input
            id="test-mail-to"
            type="email"
            value={testTo}
            aria-invalid={errorOf('to') ? true : undefined}
            onChange={(e) => setTestTo(e.target.value)}
          />
          <button type="button" onClick={() => void sendTest()}>
            Send test mail
          </button>
        </div>
      </fieldset>

      <OAuthProviders
        setting={settings['oauth.providers'] as Setting}
        draft={draft['oauth.providers'] as ProviderDraft[] | undefined}
        errorOf={errorOf}
        onChange={(list) => change('oauth.providers', list)}
        onSave={() => void save(['oauth.providers'], 'Sign-in providers')}
      />

      <fieldset>
        <legend>Rate limits (requests per window, per caller)</legend>
        {BUDGETS.map(([key, label]) => (
          <BudgetRow
            key={key}
            id={idOf(key)}
            label={label}
            value={current(key) as Budget}
            fixedBy={fixed(key) ? settings[key]?.variable : undefined}
            error={errorOf(key)}
            onChange={(v) => change(key, v)}
          />
        ))}
        <div className="bar">
          <button
            type="button"
            onClick={() =>
              void save(
                BUDGETS.map(([k]) => k),
                'Rate limits',
              )
            }
          >
            Save rate limits
          </button>
        </div>
      </fieldset>

      <fieldset>
        <legend>CORS</legend>
        {field(
          'cors.origins',
          'Allowed origins (one per line)',
          <textarea
            id={idOf('cors.origins')}
            rows={3}
            readOnly={fixed('cors.origins')}
            aria-invalid={errorOf('cors.origins') ? true : undefined}
            aria-describedby={describedBy('cors.origins')}
            value={((current('cors.origins') as string[] | null) ?? []).join('\n')}
            onChange={(e) =>
              change(
                'cors.origins',
                e.target.value
                  .split('\n')
                  .map((l) => l.trim())
                  .filter(Boolean),
              )
            }
          />,
        )}
        {!fixed('cors.origins') && (
          <div className="bar">
            <button type="button" onClick={() => void save(['cors.origins'], 'CORS')}>
              Save CORS
            </button>
          </div>
        )}
      </fieldset>
    </section>
  )
}

function BudgetRow(props: {
  id: string
  label: string
  value: Budget
  fixedBy: string | undefined
  error: string | undefined
  onChange(value: Budget): void
}) {
  const { value } = props
  const on = value !== 'off' && value !== null
  const budget = on ? value : { max: 100, windowSeconds: 60 }
  return (
    <div className="bar" role="group" aria-labelledby={`${props.id}-label`}>
      <span id={`${props.id}-label`} className="budget-label">
        {props.label}
      </span>
      <label className="check">
        <input
          type="checkbox"
          checked={on}
          disabled={props.fixedBy !== undefined}
          onChange={(e) => props.onChange(e.target.checked ? budget : 'off')}
        />
        Limited
      </label>
      <label htmlFor={`${props.id}-max`}>Max</label>
      <input
        id={`${props.id}-max`}
        type="number"
        className="narrow"
        value={on ? value.max : ''}
        disabled={!on}
        readOnly={props.fixedBy !== undefined}
        onChange={(e) => props.onChange({ ...budget, max: Number(e.target.value) })}
      />
      <label htmlFor={`${props.id}-window`}>per seconds</label>
      <input
        id={`${props.id}-window`}
        type="number"
        className="narrow"
        value={on ? value.windowSeconds : ''}
        disabled={!on}
        readOnly={props.fixedBy !== undefined}
        onChange={(e) => props.onChange({ ...budget, windowSeconds: Number(e.target.value) })}
      />
      {props.fixedBy && (
        <span className="muted">
          Set by <code>{props.fixedBy}</code>
        </span>
      )}
      {props.error && <span className="error">{props.error}</span>}
    </div>
  )
}

function toProblem(caught: unknown): ApiProblem {
  return caught instanceof ApiProblem ? caught : new ApiProblem(0, 'ER_CLIENT', String(caught))
}
