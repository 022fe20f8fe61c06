import { useEffect, useState, type FormEvent } from 'react'
import {
  api,
  ApiProblem,
  RULE_NAMES,
  type Collection,
  type FieldDef,
  type Rules,
} from '../../lib/api'
import { navigate } from '../../lib/use-hash-route'
import { FieldRow } from './field-row'

const CLOSED: Rules = { list: null, view: null, create: null, update: null, delete: null }

/**
 * Create or edit a collection: name, type, fields, and the five rules. The server checks every
 * part; its problem names the field (`fields.1.max`) or rule (`rules.list`, with the position
 * in the expression), and each message is shown beside what it is about.
 */
export function CollectionEditor(props: {
  collection?: Collection
  collections: Collection[]
  onSaved(): Promise<void>
}) {
  const existing = props.collection
  const [name, setName] = useState(existing?.name ?? '')
  const [type, setType] = useState<'base' | 'auth'>(existing?.type ?? 'base')
  const [fields, setFields] = useState<FieldDef[]>(existing?.fields ?? [])
  const [rules, setRules] = useState<Rules>(existing?.rules ?? CLOSED)
  const [problem, setProblem] = useState<ApiProblem | null>(null)
  /** What the server's dry run says of the rules as they are typed (before any save). */
  const [live, setLive] = useState<ApiProblem | null>(null)

  useEffect(() => {
    const timer = setTimeout(() => {
      const url = existing
        ? `/api/collections/${encodeURIComponent(existing.name)}/check`
        : '/api/collections/check'
      const body = { name: name || 'draft', ...(existing ? {} : { type }), fields, rules }
      // The last save's answer was about an older definition: the dry run replaces it.
      setProblem(null)
      api('POST', url, body).then(
        () => setLive(null),
        (caught: unknown) => setLive(caught instanceof ApiProblem ? caught : null),
      )
    }, 400)
    return () => clearTimeout(timer)
  }, [existing, name, type, fields, rules])

  async function save(event: FormEvent) {
    event.preventDefault()
    setProblem(null)
    const body = { name, ...(existing ? {} : { type }), fields, rules }
    try {
      if (existing) {
        const dropped = existing.fields.filter((f) => !fields.some((g) => g.id === f.id))
        if (
          dropped.length > 0 &&
          !confirm(
            `Dropping ${dropped.map((f) => f.name).join(', ')} deletes its data in every record. Continue?`,
          )
        )
          return
        await api('PATCH', `/api/collections/${encodeURIComponent(existing.name)}`, body)
      } else {
        await api('POST', '/api/collections', body)
      }
      await props.onSaved()
      navigate('collections', name)
    } catch (caught) {
      if (caught instanceof ApiProblem) setProblem(caught)
      else throw caught
    }
  }

  async function remove() {
    if (
      !existing ||
      !confirm(`Delete "${existing.name}" and every record in it? This cannot be undone.`)
    )
      return
    await api('DELETE', `/api/collections/${encodeURIComponent(existing.name)}`)
    await props.onSaved()
    navigate()
  }

  return (
    <form onSubmit={save} aria-labelledby="editor-title" noValidate>
      <header className="bar">
        <h1 id="editor-title">{existing ? `Edit ${existing.name}` : 'New collection'}</h1>
      </header>
      {problem && (
        <p role="alert" className="error">
          {problem.message}
        </p>
      )}
      <label htmlFor="collection-name">Name</label>
      <input id="collection-name" value={name} onChange={(e) => setName(e.target.value)} required />
      {problem?.fieldMessage('name') && <p className="error">{problem.fieldMessage('name')}</p>}
      {!existing && (
        <>
          <label htmlFor="collection-type">Type</label>
          <select
            id="collection-type"
            value={type}
            onChange={(e) => setType(e.target.value as 'base' | 'auth')}
          >
            <option value="base">base</option>
            <option value="auth">auth (users who sign in)</option>
          </select>
        </>
      )}
      <h2>Fields</h2>
      {fields.length === 0 && (
        <p className="empty">No fields yet. Every record has id, created and updated.</p>
      )}
      {fields.map((field, index) => (
        <FieldRow
          key={field.id ?? `new-${index}`}
          index={index}
          field={field}
          collections={props.collections}
          error={problem?.fieldMessage(`fields.${index}`)}
          onChange={(next) => setFields(fields.map((f, i) => (i === index ? next : f)))}
          onRemove={() => setFields(fields.filter((_, i) => i !== index))}
        />
      ))}
      <button type="button" onClick={() => setFields([...fields, { name: '', type: 'text' }])}>
        Add field
      </button>
      <h2>Rules</h2>
      <p className="muted">
        Leave a rule off for superusers only; empty lets anyone; otherwise a filter such as{' '}
        <code>owner = @request.auth.id</code>.
      </p>
      {RULE_NAMES.map((rule) => {
        const error = problem?.fieldMessage(`rules.${rule}`) ?? live?.fieldMessage(`rules.${rule}`)
        return (
          <div key={rule} className="rule">
            <label className="check">
              <input
                type="checkbox"
                checked={rules[rule] !== null}
                onChange={(e) => setRules({ ...rules, [rule]: e.target.checked ? '' : null })}
              />
              {rule} rule
            </label>
            {rules[rule] !== null && (
              <input
                aria-label={`${rule} rule`}
                className="code"
                value={rules[rule] ?? ''}
                onChange={(e) => setRules({ ...rules, [rule]: e.target.value })}
                aria-invalid={error ? true : undefined}
                spellCheck={false}
              />
            )}
            <p className="error" aria-live="polite" id={`rule-${rule}-error`}>
              {error}
            </p>
          </div>
        )
      })}
      <div className="bar">
        <button type="submit">Save</button>
        {existing && (
          <button type="button" className="danger" onClick={() => void remove()}>
            Delete collection
          </button>
        )}
      </div>
    </form>
  )
}
