import { useEffect, useId, useState, type KeyboardEvent } from 'react'
import { api, type Collection, type FieldDef, type RecordPage } from '../../lib/api'

type Row = Record<string, unknown>

/** The fields that name a record to a person: its e-mail, then its first text fields. */
function labelFields(target: Collection | undefined): string[] {
  if (!target) return []
  const text = target.fields.filter((f) => f.type === 'text' && !f.hidden).map((f) => f.name)
  return [...(target.type === 'auth' ? ['email'] : []), ...text].slice(0, 3)
}

/** A string literal of the filter language (`\"` and `\\` are its escapes). */
const quoted = (text: string) => `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`

/**
 * Picks related records by searching the target collection (its id and naming fields, through
 * the list API and its rules) in an ARIA combobox: arrows move, Enter picks, Escape closes.
 * Picked records show as chips; the value sent is their ids, one or several (`maxSelect`).
 */
export function RelationPicker(props: {
  id: string
  field: FieldDef
  collections: Collection[]
  initial: unknown
  describedBy?: string | undefined
  invalid?: boolean
}) {
  const { field } = props
  const target = props.collections.find(
    (c) => c.name === field.collection || c.id === field.collection,
  )
  const names = labelFields(target)
  const many = (field.maxSelect ?? 1) > 1
  const [picked, setPicked] = useState<string[]>(() =>
    Array.isArray(props.initial)
      ? props.initial.map(String)
      : typeof props.initial === 'string' && props.initial
        ? [props.initial]
        : [],
  )
  const [labels, setLabels] = useState<Record<string, string>>({})
  const [query, setQuery] = useState('')
  const [options, setOptions] = useState<Row[] | null>(null)
  const [active, setActive] = useState(0)
  const listId = useId()
  const base = target ? `/api/collections/${encodeURIComponent(target.name)}/records` : ''

  const labelOf = (row: Row) => {
    const name = names.map((n) => row[n]).find((v) => typeof v === 'string' && v !== '')
    return name ? `${String(name)} (${String(row.id)})` : String(row.id)
  }

  // Names for the ids the record already holds.
  useEffect(() => {
    if (!base || picked.length === 0) return
    const filter = picked.map((id) => `id = ${quoted(id)}`).join(' || ')
    api<RecordPage>('GET', `${base}?perPage=${picked.length}&filter=${encodeURIComponent(filter)}`)
      .then((p) => setLabels(Object.fromEntries(p.items.map((r) => [String(r.id), labelOf(r)]))))
      .catch(() => {})
    // Only once: later picks bring their label along.
  }, [base])

  useEffect(() => {
    if (!base || options === null) return
    const term = query.trim()
    const filter = term ? ['id', ...names].map((n) => `${n} ~ ${quoted(term)}`).join(' || ') : ''
    const timer = setTimeout(() => {
      const params = new URLSearchParams({ perPage: '10', sort: '-created' })
      if (filter) params.set('filter', filter)
      api<RecordPage>('GET', `${base}?${params}`)
        .then((p) => {
          setOptions(p.items)
          setActive(0)
        })
        .catch(() => setOptions([]))
    }, 200)
    return () => clearTimeout(timer)
    // `options === null` means closed; opening (null → []) starts the first search.
  }, [base, query, options === null])

  function pick(row: Row) {
    const id = String(row.id)
    setLabels({ ...labels, [id]: labelOf(row) })
    setPicked(many ? [...picked.filter((p) => p !== id), id] : [id])
    setQuery('')
    setOptions(null)
  }

  function onKey(event: KeyboardEvent<HTMLInputElement>) {
    const list = options ?? []
    if (event.key === 'ArrowDown') {
      event.preventDefault()
      if (options === null) setOptions([])
      else setActive(Math.min(active + 1, list.length - 1))
    } else if (event.key === 'ArrowUp') {
      event.preventDefault()
      setActive(Math.max(active - 1, 0))
    } else if (event.key === 'Enter' && options !== null) {
      // Enter picks; it never submits the form while the list is open.
      event.preventDefault()
      const row = list[active]
      if (row) pick(row)
    } else if (event.key === 'Escape') {
      setOptions(null)
    }
  }

  if (!target) {
    return <p className="error">The target collection "{String(field.collection)}" is gone.</p>
  }
  const open = options !== null
  return (
    <div className="relation-picker">
      <input type="hidden" name={field.name} value={picked.join(',')} />
      {picked.length > 0 && (
        <ul className="chips" aria-label={`${field.name}: picked`}>
          {picked.map((id) => (
            <li key={id}>
              <span>{labels[id] ?? id}</span>
              <button
                type="button"
                className="link"
                aria-label={`Remove ${labels[id] ?? id}`}
                onClick={() => setPicked(picked.filter((p) => p !== id))}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      <input
        id={props.id}
        type="text"
        role="combobox"
        autoComplete="off"
        placeholder={`Search ${target.name}${names.length ? ` by ${names.join(', ')} or id` : ' by id'}`}
        aria-expanded={open}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-activedescendant={open && options.length > 0 ? `${listId}-${active}` : undefined}
        aria-invalid={props.invalid ? true : undefined}
        aria-describedby={props.describedBy}
        value={query}
        onChange={(e) => {
          setQuery(e.target.value)
          if (options === null) setOptions([])
        }}
        onFocus={() => options === null && setOptions([])}
        onBlur={() => setTimeout(() => setOptions(null), 150)}
        onKeyDown={onKey}
      />
      <ul
        id={listId}
        role="listbox"
        className="options"
        hidden={!open}
        aria-label={`${target.name} records`}
      >
        {options?.map((row, i) => (
          <li
            key={String(row.id)}
            id={`${listId}-${i}`}
            role="option"
            aria-selected={i === active}
            onMouseDown={(e) => {
              // Before the input's blur closes the list.
              e.preventDefault()
              pick(row)
            }}
          >
            {labelOf(row)}
          </li>
        ))}
        {open && options.length === 0 && (
          <li role="option" aria-selected={false} aria-disabled="true" className="muted">
            {query ? 'No record matches.' : 'Searching…'}
          </li>
        )}
      </ul>
    </div>
  )
}
