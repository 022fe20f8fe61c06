import { useCallback, useEffect, useState, type FormEvent } from 'react'
import { api, ApiProblem, type Collection } from '../../lib/api'
import { describe } from './user-detail'

const OPERATIONS = ['list', 'view', 'create', 'update', 'delete'] as const

interface ApiKey {
  id: string
  name: string
  scopes: { collection: string; operations: string[] }[]
  created: string
  expires: string
  revoked: string | null
}

/**
 * The account's API keys (`/auth/api-keys?record=`): made with one scope (a collection or `*`
 * and the operations allowed), the key itself shown once, right after creation, and never
 * again; listed by name and scope; revocable.
 */
export function UserApiKeys(props: {
  collection: Collection
  collections: Collection[]
  recordId: string
  onError(message: string): void
}) {
  const base = `/api/collections/${encodeURIComponent(props.collection.name)}/auth/api-keys`
  const record = `record=${encodeURIComponent(props.recordId)}`
  const [keys, setKeys] = useState<ApiKey[] | null>(null)
  const [secret, setSecret] = useState<{ name: string; key: string } | null>(null)
  const [problem, setProblem] = useState<ApiProblem | null>(null)
  const [name, setName] = useState('')
  const [scope, setScope] = useState('*')
  const [operations, setOperations] = useState<string[]>(['list', 'view'])
  const [days, setDays] = useState('90')
  const { onError } = props

  const load = useCallback(async () => {
    try {
      const all = (await api<{ items: ApiKey[] }>('GET', `${base}?${record}`)).items
      setKeys(all.filter((k) => k.revoked === null))
    } catch (caught) {
      onError(describe(caught))
    }
  }, [base, record, onError])

  useEffect(() => {
    void load()
  }, [load])

  async function create(event: FormEvent) {
    event.preventDefault()
    setProblem(null)
    setSecret(null)
    try {
      const made = await api<ApiKey & { key: string }>('POST', base, {
        name,
        record: props.recordId,
        scopes: [{ collection: scope, operations }],
        expiresInDays: Number(days),
      })
      setSecret({ name: made.name, key: made.key })
      setName('')
      await load()
    } catch (caught) {
      if (caught instanceof ApiProblem) setProblem(caught)
      else onError(String(caught))
    }
  }

  async function revoke(key: ApiKey) {
    if (!confirm(`Revoke the API key "${key.name}"? Anything using it stops working at once.`))
      return
    try {
      await api('DELETE', `${base}/${encodeURIComponent(key.id)}?${record}`)
    } catch (caught) {
      onError(describe(caught))
    }
    await load()
  }

  const fieldError = (field: string) => problem?.fieldMessage(field)
  const invalid = (field: string) => ({
    'aria-invalid': fieldError(field) ? true : undefined,
    'aria-describedby': fieldError(field) ? `key-${field}-error` : undefined,
  })
  const errorOf = (field: string) =>
    fieldError(field) ? (
      <p id={`key-${field}-error`} className="error">
        {fieldError(field)}
      </p>
    ) : null

  return (
    <section aria-labelledby="keys-title">
      <h3 id="keys-title">API keys</h3>
      {secret && (
        <div className="secret" role="status">
          <p>
            The key <strong>{secret.name}</strong>, shown this once: copy it now.
          </p>
          <label htmlFor="new-key">New API key</label>
          <input id="new-key" className="code" readOnly value={secret.key} />
          <div className="bar">
            <button type="button" onClick={() => void navigator.clipboard?.writeText(secret.key)}>
              Copy
            </button>
            <button type="button" onClick={() => setSecret(null)}>
              I have copied it
            </button>
          </div>
        </div>
      )}
      {keys && keys.length === 0 && <p className="empty">No API key. Make one below.</p>}
      {keys && keys.length > 0 && (
        <ul className="list" aria-label="API keys">
          {keys.map((k) => (
            <li key={k.id}>
              <span>
                <strong>{k.name}</strong>{' '}
                <span className="code">
                  {k.scopes.map((s) => `${s.collection}: ${s.operations.join(', ')}`).join('; ')}
                </span>{' '}
                <span className="muted">until {k.expires.slice(0, 10)}</span>
              </span>
              <button
                type="button"
                className="link danger"
                aria-label={`Revoke key ${k.name}`}
                onClick={() => void revoke(k)}
              >
                Revoke
              </button>
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={create} aria-label="Make an API key" noValidate>
        {problem && (
          <p role="alert" className="error">
            {problem.message}
          </p>
        )}
        <label htmlFor="key-name">Key name</label>
        <input
          id="key-name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          {...invalid('name')}
        />
        {errorOf('name')}
        <label htmlFor="key-scope">Collection</label>
        <select
          id="key-scope"
          value={scope}
          onChange={(e) => setScope(e.target.value)}
          {...invalid('scopes.0.collection')}
        >
          <option value="*">* (every collection)</option>
          {props.collections
            .filter((c) => !c.name.startsWith('_'))
            .map((c) => (
              <option key={c.id}>{c.name}</option>
            ))}
        </select>
        <fieldset {...invalid('scopes.0.operations')}>
          <legend>Operations</legend>
          {OPERATIONS.map((op) => (
            <label key={op} className="check">
              <input
                type="checkbox"
                checked={operations.includes(op)}
                onChange={(e) =>
                  setOperations(
                    e.target.checked ? [...operations, op] : operations.filter((o) => o !== op),
                  )
                }
              />
              {op}
            </label>
          ))}
        </fieldset>
        {errorOf('scopes.0.operations')}
        <label htmlFor="key-days">Expires in (days)</label>
        <input
          id="key-days"
          type="number"
          min={1}
          value={days}
          onChange={(e) => setDays(e.target.value)}
          {...invalid('expiresInDays')}
        />
        {errorOf('expiresInDays')}
        <div className="bar">
          <button type="submit">Create API key</button>
        </div>
      </form>
    </section>
  )
}
