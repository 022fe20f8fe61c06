/**
 * The error every failed call throws: the server's RFC 9457 problem document, kept whole so a
 * form can show `errors.<field>` beside its input and code can branch on `code`.
 */

/** An RFC 9457 problem document as Engine Room answers it. */
export interface ProblemBody {
  type?: string
  title?: string
  status: number
  detail?: string
  /** Engine Room's stable error code, e.g. `ER_FORBIDDEN`. */
  code?: string
  /** Per-field (or per-position) messages, e.g. `{ title: "Required." }`. */
  errors?: Record<string, unknown>
  [extension: string]: unknown
}

export class ProblemError extends Error {
  readonly status: number
  readonly code: string | undefined
  readonly errors: Record<string, unknown>
  readonly body: ProblemBody

  constructor(body: ProblemBody) {
    super(body.detail ?? body.title ?? `Request failed with status ${body.status}`)
    this.name = 'ProblemError'
    this.status = body.status
    this.code = body.code
    this.errors = body.errors ?? {}
    this.body = body
  }
}

/**
 * The problem a failed response carries; a body that is not a problem document (a proxy's HTML
 * page, say) still becomes one, with the status and the start of the text as its detail.
 */
export async function problemFrom(response: Response): Promise<ProblemError> {
  const text = await response.text().catch(() => '')
  try {
    const parsed = JSON.parse(text) as unknown
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return new ProblemError({ ...(parsed as ProblemBody), status: response.status })
    }
  } catch {
    // not JSON: fall through
  }
  return new ProblemError({
    status: response.status,
    title: response.statusText || 'Request failed',
    detail: text.slice(0, 200) || undefined,
  })
}
