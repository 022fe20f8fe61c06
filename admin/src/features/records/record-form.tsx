import { useState, type FormEvent } from 'react'
import { api, ApiProblem, type Collection, type FieldDef } from '../../lib/api'
import { JsonField } from './json-field'
import { RelationPicker } from './relation-picker'

/** The fields a form offers: the schema's, plus e-mail and password for auth collections. */
function formFields(collection: Collection): FieldDef[] {
  const own = collection.fields.filter((f) => f.type !== 'autodate' && f.type !== 'file')
  return collection.type === 'auth'
    ? [
        { name: 'email', type: 'email', required: true },
        { name: 'password', type: 'password' },
        ...own,
      ]
    : own
}

const INPUT_TYPES: Record<string, string> = {
  number: 'number',
  email: 'email',
  url: 'url',
  date: 'datetime-local',
  password: 'password',
}

/** A value typed in a form, as the API expects it for the field's type. */
function toValue(field: FieldDef, text: string, checked: boolean): unknown {
  if (field.type === 'bool') return checked
  if (text === '') return undefined
  if (field.type === 'number') return Number(text)
  if (field.type === 'json') {
    try {
      return JSON.parse(text)
    } catch {
      return text
    }
  }
  if (field.type === 'date') return new Date(text).toISOString()
  if ((field.type === 'select' || field.type === 'relation') && (field.maxSelect ?? 1) > 1)
    return text
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean)
  return text
}

/**
 * A form generated from the schema. The server validates; its problem's per-field messages
 * appear under each input (`aria-invalid`, `aria-describedby`), and nothing is written.
 */
export function RecordForm(props: {
  collection: Collection
  collections: Collection[]
  record?: Record<string, unknown>
  onDone(): void
}) {
  const { collection, record } = props
  const [problem, setProblem] = useState<ApiProblem | null>(null)
  const fields = formFields(collection)

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const form = event.currentTarget
    // A JSON box that does not parse already says where; nothing is sent until it does.
    const badJson = form.querySelector<HTMLTextAreaElement>('[data-json-invalid]')
    if (badJson) {
      badJson.focus()
      return
    }
    const body: Record<string, unknown> = {}
    for (const field of fields) {
      const input = form.elements.namedItem(field.name) as HTMLInputElement | null
      if (!input) continue
      const value = toValue(field, input.value, input.checked)
      if (value !== undefined) body[field.name] = value
      else if (record && field.type !== 'password') body[field.name] = null
    }
    setProblem(null)
    const base = `/api/collections/${encodeURIComponent(collection.name)}/records`
    try {
      if (record) await api('PATCH', `${base}/${encodeURIComponent(String(record.id))}`, body)
      else await api('POST', base, body)
      props.onDone()
    } catch (caught) {
      if (caught instanceof ApiProblem) setProblem(caught)
      else throw caught
    }
  }

  return (
    <form
      onSubmit={submit}
      className="card"
      aria-label={record ? 'Edit record' : 'New record'}
      noValidate
    >
      <h2>{record ? `Edit ${String(record.id)}` : `New ${collection.name} record`}</h2>
      {problem && (
        <p role="alert" className="error">
          {problem.message}
        </p>
      )}
      {fields.map((field) => {
        const id = `input-${field.name}`
        const error = problem?.fieldMessage(field.name)
        const current = record?.[field.name]
        const common = {
          id,
          name: field.name,
          'aria-invalid': error ? true : undefined,
          'aria-describedby': error ? `${id}-error` : undefined,
        }
        return (
          <div key={field.name} className="form-field">
            <label htmlFor={id}>
              {field.name}
              {field.required ? ' *' : ''}
            </label>
            {field.type === 'bool' ? (
              <input type="checkbox" defaultChecked={current === true} {...common} />
            ) : field.type === 'select' && (field.maxSelect ?? 1) <= 1 ? (
              <select defaultValue={typeof current === 'string' ? current : ''} {...common}>
                <option value="">(none)</option>
                {(field.values ?? []).map((v) => (
                  <option key={v}>{v}</option>
                ))}
              </select>
            ) : field.type === 'json' ? (
              <JsonField id={id} name={field.name} initial={current} serverError={error} />
            ) : field.type === 'relation' ? (
              <RelationPicker
                id={id}
                field={field}
                collections={props.collections}
                initial={current}
                invalid={Boolean(error)}
                describedBy={error ? `${id}-error` : undefined}
              />
            ) : (
              <input
                type={INPUT_TYPES[field.type] ?? 'text'}
                step={field.type === 'number' ? 'any' : undefined}
                defaultValue={
                  field.type === 'password' || current == null
                    ? ''
                    : Array.isArray(current)
                      ? current.join(',')
                      : String(current)
                          .replace(/Z$/, '')
                          .slice(0, field.type === 'date' ? 16 : undefined)
                }
                {...common}
              />
            )}
            {error && field.type !== 'json' && (
              <p id={`${id}-error`} className="error">
                {error}
              </p>
            )}
          </div>
        )
      })}
      <div className="bar">
        <button type="submit">{record ? 'Save' : 'Create'}</button>
        <button type="button" onClick={props.onDone}>
          Cancel
        </button>
      </div>
    </form>
  )
}
