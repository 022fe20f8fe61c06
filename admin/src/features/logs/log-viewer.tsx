import { useCallback, useEffect, useState, type FormEvent } from 'react'
import { api, ApiProblem } from '../../lib/api'

type LogLine = Record<string, unknown> & { level: number; levelName: string; time?: number }

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const
interface Filter {
  level: string
  route: string
  status: string
  requestId: string
}
const EMPTY: Filter = { level: '', route: '', status: '', requestId: '' }

/**
 * The server's recent log lines (`GET /api/admin/logs`), newest first, filtered on the server
 * by level, route, status and request id. Lines arrive redacted, as the logger wrote them.
 * A request id is a button: it narrows the view to that one request.
 */
export function LogViewer() {
  const [draft, setDraft] = useState<Filter>(EMPTY)
  const [applied, setApplied] = useState<Filter>(EMPTY)
  const [lines, setLines] = useState<LogLine[] | null>(null)
  const [capturing, setCapturing] = useState(true)
  const [error, setError] = useState<ApiProblem | null>(null)

  const load = useCallback(async () => {
    const params = new URLSearchParams({ limit: '200' })
    for (const [key, value] of Object.entries(applied))
      if (value.trim()) params.set(key, value.trim())
    try {
      const answer = await api<{ capturing: boolean; items: LogLine[] }>(
        'GET',
        `/api/admin/logs?${params}`,
      )
      setLines(answer.items)
      setCapturing(answer.capturing)
      setError(null)
    } catch (caught) {
      if (caught instanceof ApiProblem) setError(caught)
      else throw caught
    }
  }, [applied])

  useEffect(() => {
    void load()
  }, [load])

  function apply(event: FormEvent) {
    event.preventDefault()
    setApplied({ ...draft })
  }

  function only(requestId: string) {
    const next = { ...EMPTY, requestId }
    setDraft(next)
    setApplied(next)
  }

  const field = (key: keyof Filter) => ({
    id: `log-${key}`,
    value: draft[key],
    'aria-invalid': error?.fieldMessage(key) ? true : undefined,
    onChange: (e: { target: { value: string } }) => setDraft({ ...draft, [key]: e.target.value }),
  })

  return (
    <section aria-labelledby="logs-title">
      <header className="bar">
        <h1 id="logs-title">Logs</h1>
        <a className="button secondary" href="#/metrics">
          Metrics
        </a>
      </header>
      <form onSubmit={apply} className="log-filter" role="search" aria-label="Filter logs">
        <div>
          <label htmlFor="log-level">Level</label>
          <select {...field('level')}>
            <option value="">any</option>
            {LEVELS.map((l) => (
              <option key={l} value={l}>
                {l} and above
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="log-route">Route</label>
          <input
            {...field('route')}
            className="code"
            placeholder="/api/collections/:name/records"
          />
        </div>
        <div>
          <label htmlFor="log-status">Status</label>
          <input {...field('status')} className="code" placeholder="404 or 5xx" />
        </div>
        <div>
          <label htmlFor="log-requestId">Request id</label>
          <input {...field('requestId')} className="code" />
        </div>
        <div className="log-actions">
          <button type="submit">Apply</button>
          <button
            type="button"
            onClick={() => {
              setDraft(EMPTY)
              setApplied(EMPTY)
            }}
          >
            Clear
          </button>
          <button type="button" onClick={() => void load()}>
            Refresh
          </button>
        </div>
      </form>
      {error && (
        <p id="log-error" role="alert" className="error">
          {error.message}
          {Object.entries(error.errors).map(([k, v]) => ` ${k}: ${v[0]?.message ?? ''}`)}
        </p>
      )}
      {!capturing && (
        <p className="empty">This server runs without a logger, so no lines are kept.</p>
      )}
      <p className="muted" aria-live="polite">
        {lines ? `${lines.length} line(s), newest first` : 'Loading…'}
      </p>
      {lines && lines.length === 0 && capturing && (
        <p className="empty">No line matches. Widen the filter, or make some requests.</p>
      )}
      <div className="table-wrap">
        <table className="logs">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Level</th>
              <th scope="col">Request</th>
              <th scope="col">Status</th>
              <th scope="col">ms</th>
              <th scope="col">Message</th>
              <th scope="col">Request id</th>
            </tr>
          </thead>
          <tbody>
            {lines?.map((line, i) => (
              <tr
                key={`${String(line.reqId)}-${String(line.time)}-${i}`}
                className={`lvl-${line.levelName}`}
              >
                <td>
                  {typeof line.time === 'number' ? new Date(line.time).toLocaleTimeString() : ''}
                </td>
                <td>{line.levelName}</td>
                <td className="code">
                  {line.method ? `${String(line.method)} ${String(line.path ?? '')}` : ''}
                </td>
                <td>{line.status === undefined ? '' : String(line.status)}</td>
                <td>{line.durationMs === undefined ? '' : String(line.durationMs)}</td>
                <td>{message(line)}</td>
                <td>
                  {typeof line.reqId === 'string' ? (
                    <button
                      type="button"
                      className="link code"
                      onClick={() => only(String(line.reqId))}
                    >
                      {line.reqId}
                    </button>
                  ) : (
                    ''
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  )
}

function message(line: LogLine): string {
  const err = line.err as { message?: unknown } | undefined
  const msg = typeof line.msg === 'string' ? line.msg : ''
  return err && typeof err.message === 'string' ? `${msg}: ${err.message}` : msg
}
