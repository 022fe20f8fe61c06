import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto'
import type { Store } from '../../adapters/store/store.js'
import type { Clock } from '../../core/clock.js'
import { EngineError } from '../../core/errors/index.js'

/** The longest ticket worth hashing: issued ones are 32 characters. */
const MAX_TICKET_LENGTH = 64

/**
 * Realtime tickets, in the store so that every node redeems them alike (a load balancer may send
 * a reconnect anywhere). A ticket is first a one-time pass: the first stream opened with it
 * spends it and binds it to that stream (its topics and filter). From then on, for
 * `ticketReconnectSeconds`, the same ticket reopens that same stream and no other: this is what
 * a browser's own EventSource does after a drop, with the same URL and `Last-Event-ID`.
 *
 * Nothing in the store is usable without the ticket: a row is found by a SHA-256 of the ticket
 * (and of the stream, once bound), and holds the caller's token encrypted (AES-256-GCM) under a
 * key derived from the ticket. Each redemption identifies the token again, so a revoked session,
 * a changed password or a revoked API key stops reconnects.
 */
export function createTicketBook(
  store: Pick<Store, 'insertTicket' | 'takeTicket' | 'findTicket'>,
  clock: Clock,
  limits: { ticketTtlSeconds: number; ticketReconnectSeconds: number },
) {
  const expiry = (seconds: number) => new Date(clock.now().getTime() + seconds * 1000).toISOString()

  async function issue(token: string): Promise<string> {
    const ticket = randomBytes(24).toString('base64url')
    const id = rowId(ticket)
    await store.insertTicket(id, seal(ticket, id, token), expiry(limits.ticketTtlSeconds))
    return ticket
  }

  /** The token a ticket stands for on the stream `stream`, or ER_AUTH_TOKEN_INVALID. */
  async function redeem(ticket: string, stream: string): Promise<string> {
    if (ticket.length > MAX_TICKET_LENGTH) throw ticketInvalid()
    const now = clock.now().toISOString()
    const boundId = rowId(ticket, stream)
    const bound = await store.findTicket(boundId, now)
    if (bound !== undefined) return open(ticket, boundId, bound)
    const firstId = rowId(ticket)
    const first = await store.takeTicket(firstId, now)
    if (first === undefined) throw ticketInvalid()
    const token = open(ticket, firstId, first)
    await store.insertTicket(
      boundId,
      seal(ticket, boundId, token),
      expiry(limits.ticketReconnectSeconds),
    )
    return token
  }

  return { issue, redeem }
}

function rowId(ticket: string, stream?: string): string {
  const hash = createHash('sha256').update(ticket)
  if (stream !== undefined) hash.update('\n').update(stream)
  return hash.digest('base64url')
}

function keyOf(ticket: string): Buffer {
  return Buffer.from(hkdfSync('sha256', ticket, '', 'engineroom realtime ticket', 32))
}

/** `iv.ciphertext.tag`, base64url; the row id is authenticated too, so rows cannot be swapped. */
function seal(ticket: string, id: string, token: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', keyOf(ticket), iv).setAAD(Buffer.from(id))
  const body = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()])
  return [iv, body, cipher.getAuthTag()].map((b) => b.toString('base64url')).join('.')
}

function open(ticket: string, id: string, sealed: string): string {
  const [iv, body, tag] = sealed.split('.').map((part) => Buffer.from(part, 'base64url'))
  if (!iv || !body || !tag || iv.length !== 12 || tag.length !== 16) throw ticketInvalid()
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyOf(ticket), iv).setAAD(Buffer.from(id))
    decipher.setAuthTag(tag)
    return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8')
  } catch {
    // A row written before tokens were sealed, or tampered with: not a ticket.
    throw ticketInvalid()
  }
}

function ticketInvalid(): EngineError {
  return new EngineError(
    'ER_AUTH_TOKEN_INVALID',
    'The ticket is unknown, expired, or was issued for another stream.',
    {
      errors: { ticket: [{ code: 'invalid', message: 'unknown, expired or for another stream' }] },
    },
  )
}
