/**
 * The dashboard's client of the public API: the same endpoints any app calls, with the
 * superuser's bearer token. Kept in sessionStorage (per tab, gone when the tab closes) rather
 * than localStorage, so a token does not outlive the session that made it.
 */

/** An RFC 9457 problem from the API, with its per-field messages. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly errors: Record<string, { code: string; message: string }[]> = {},
  ) {
    super(message)
  }

  /** The first message for `field` (or a field under it, `fields.0.name` for `fields`). */
  fieldMessage(field: string): string | undefined {
    const exact = this.errors[field]?.[0]?.message
    if (exact) return exact
    const nested = Object.entries(this.errors).find(([key]) => key.startsWith(`${field}.`))
    return nested ? `${nested[0]}: ${nested[1][0]?.message ?? ''}` : undefined
  }
}

const TOKEN_KEY = 'engineroom.token'

export function currentToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY)
}

export function setToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token)
  else sessionStorage.removeItem(TOKEN_KEY)
}

/**
 * @example
 *   const page = await api<RecordPage>('GET', '/api/collections/posts/records?perPage=50')
 */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const token = currentToken()
  const res = await fetch(path, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  if (res.status === 204) return undefined as T
  const text = await res.text()
  const data: unknown = text ? JSON.parse(text) : undefined
  if (!res.ok) {
    const problem = (data ?? {}) as {
      code?: string
      detail?: string
      title?: string
      errors?: Record<string, { code: string; message: string }[]>
    }
    if (res.status === 401 && token) window.dispatchEvent(new Event('engineroom:signed-out'))
    throw new ApiProblem(
      res.status,
      problem.code ?? 'ER_HTTP',
      problem.detail ?? problem.title ?? `HTTP ${res.status}`,
      problem.errors,
    )
  }
  return data as T
}

export type Rules = Record<'list' | 'view' | 'create' | 'update' | 'delete', string | null>

export interface FieldDef {
  id?: string
  name: string
  type: string
  required?: boolean
  unique?: boolean
  hidden?: boolean
  min?: number
  max?: number
  values?: string[]
  maxSelect?: number
  collection?: string
  [option: string]: unknown
}

export interface Collection {
  id: string
  name: string
  type: 'base' | 'auth'
  system?: boolean
  fields: FieldDef[]
  indexes: unknown[]
  rules: Rules
}

export interface RecordPage {
  items: Record<string, unknown>[]
  page?: number
  perPage: number
  nextCursor?: string | null
  totalItems?: number
}

export const RULE_NAMES = ['list', 'view', 'create', 'update', 'delete'] as const
