import type { Collection, FieldDef } from '../../lib/api'

export const FIELD_TYPES = [
  'text',
  'number',
  'bool',
  'date',
  'email',
  'url',
  'select',
  'json',
  'relation',
  'autodate',
  'file',
] as const

/** One field of the schema form: name, type, the constraints its type has, and its error. */
export function FieldRow(props: {
  index: number
  field: FieldDef
  collections: Collection[]
  error: string | undefined
  onChange(field: FieldDef): void
  onRemove(): void
}) {
  const { index, field, error } = props
  const id = `field-${index}`
  const set = (patch: Partial<FieldDef>) => {
    const next: FieldDef = { ...field, ...patch }
    for (const [key, value] of Object.entries(next)) if (value === undefined) delete next[key]
    props.onChange(next)
  }
  const number = (text: string) => (text === '' ? undefined : Number(text))
  return (
    <fieldset className="field-row" aria-describedby={error ? `${id}-error` : undefined}>
      <legend>Field {index + 1}</legend>
      <label htmlFor={`${id}-name`}>Name</label>
      <input
        id={`${id}-name`}
        value={field.name}
        onChange={(e) => set({ name: e.target.value })}
        required
      />
      <label htmlFor={`${id}-type`}>Type</label>
      <select id={`${id}-type`} value={field.type} onChange={(e) => set({ type: e.target.value })}>
        {FIELD_TYPES.map((t) => (
          <option key={t}>{t}</option>
        ))}
      </select>
      <label className="check">
        <input
          type="checkbox"
          checked={field.required === true}
          onChange={(e) => set({ required: e.target.checked || undefined })}
        />
        Required
      </label>
      <label className="check">
        <input
          type="checkbox"
          checked={field.unique === true}
          onChange={(e) => set({ unique: e.target.checked || undefined })}
        />
        Unique
      </label>
      {(field.type === 'text' || field.type === 'number') && (
        <>
          <label htmlFor={`${id}-min`}>Min</label>
          <input
            id={`${id}-min`}
            type="number"
            value={field.min ?? ''}
            onChange={(e) => set({ min: number(e.target.value) })}
          />
          <label htmlFor={`${id}-max`}>Max</label>
          <input
            id={`${id}-max`}
            type="number"
            value={field.max ?? ''}
            onChange={(e) => set({ max: number(e.target.value) })}
          />
        </>
      )}
      {field.type === 'select' && (
        <>
          <label htmlFor={`${id}-values`}>Values (comma-separated)</label>
          <input
            id={`${id}-values`}
            value={(field.values ?? []).join(',')}
            onChange={(e) => set({ values: e.target.value.split(',').map((v) => v.trim()) })}
          />
        </>
      )}
      {field.type === 'relation' && (
        <>
          <label htmlFor={`${id}-collection`}>Collection</label>
          <select
            id={`${id}-collection`}
            value={field.collection ?? ''}
            onChange={(e) => set({ collection: e.target.value })}
          >
            <option value="">(choose)</option>
            {props.collections.map((c) => (
              <option key={c.id}>{c.name}</option>
            ))}
          </select>
        </>
      )}
      <button type="button" className="link" onClick={props.onRemove}>
        Remove field
      </button>
      {error && (
        <p id={`${id}-error`} className="error">
          {error}
        </p>
      )}
    </fieldset>
  )
}
