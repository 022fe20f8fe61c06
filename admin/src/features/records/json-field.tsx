import { useState } from 'react'
import { checkJson } from '../../lib/json-check'

/**
 * A JSON value's editor: checked as it is typed, the first error named by line and column
 * under the box (and the box marked invalid) before anything is sent. "Format" indents it.
 * An empty box means no value.
 */
export function JsonField(props: {
  id: string
  name: string
  initial: unknown
  serverError?: string | undefined
}) {
  const [text, setText] = useState(() =>
    props.initial === undefined || props.initial === null
      ? ''
      : JSON.stringify(props.initial, null, 2),
  )
  const problem = text.trim() === '' ? null : checkJson(text)
  const message = problem
    ? `Line ${problem.line}, column ${problem.column}: ${problem.message}`
    : props.serverError
  const errorId = `${props.id}-error`
  return (
    <div className="json-field">
      <textarea
        id={props.id}
        name={props.name}
        className="code"
        rows={Math.min(12, Math.max(3, text.split('\n').length))}
        value={text}
        spellCheck={false}
        data-json-invalid={problem ? 'true' : undefined}
        aria-invalid={message ? true : undefined}
        aria-describedby={message ? errorId : undefined}
        onChange={(e) => setText(e.target.value)}
      />
      <button
        type="button"
        className="link"
        disabled={problem !== null || text.trim() === ''}
        onClick={() => setText(JSON.stringify(JSON.parse(text), null, 2))}
      >
        Format
        <span className="sr-only"> {props.name}</span>
      </button>
      {message && (
        <p id={errorId} className="error" role={problem ? 'status' : undefined}>
          {message}
        </p>
      )}
    </div>
  )
}
