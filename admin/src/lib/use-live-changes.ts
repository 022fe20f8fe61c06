import { useEffect, useRef, useState } from 'react'
import { api } from './api'

/** One change from the realtime feed (`data:` of an SSE event). */
export interface LiveChange {
  collection: string
  action: 'create' | 'update' | 'delete'
  record: Record<string, unknown>
}

export type LiveState = 'connecting' | 'live' | 'offline'

const RETRY_MS = 3000

/**
 * Subscribes to a collection's changes over `GET /api/realtime` (Server-Sent Events). EventSource
 * cannot send a header, so each connection is opened with a one-time ticket from
 * `POST /api/realtime/ticket`; a ticket is spent once, so instead of EventSource's own retry
 * (which would reuse it) a dropped stream is reopened here with a new ticket and the last event
 * id, and the server replays what was missed.
 *
 * @example
 *   const state = useLiveChanges('posts', (change) => reload())
 */
export function useLiveChanges(collection: string, onChange: (change: LiveChange) => void) {
  const [state, setState] = useState<LiveState>('connecting')
  const handler = useRef(onChange)
  handler.current = onChange

  useEffect(() => {
    let source: EventSource | undefined
    let retry: ReturnType<typeof setTimeout> | undefined
    let stopped = false
    let lastEventId = ''

    const receive = (event: MessageEvent<string>) => {
      if (event.lastEventId) lastEventId = event.lastEventId
      try {
        handler.current(JSON.parse(event.data) as LiveChange)
      } catch {
        // A frame that is not a change (a comment, a keep-alive) carries nothing to show.
      }
    }

    const connect = async () => {
      setState('connecting')
      try {
        const { ticket } = await api<{ ticket: string }>('POST', '/api/realtime/ticket', {})
        if (stopped) return
        const params = new URLSearchParams({ topic: collection, ticket })
        if (lastEventId) params.set('lastEventId', lastEventId)
        source = new EventSource(`/api/realtime?${params}`)
        source.onopen = () => setState('live')
        for (const action of ['create', 'update', 'delete'])
          source.addEventListener(action, receive)
        source.onerror = () => {
          source?.close()
          reconnect()
        }
      } catch {
        reconnect()
      }
    }
    const reconnect = () => {
      if (stopped) return
      setState('offline')
      clearTimeout(retry)
      retry = setTimeout(() => void connect(), RETRY_MS)
    }

    void connect()
    return () => {
      stopped = true
      clearTimeout(retry)
      source?.close()
    }
  }, [collection])

  return state
}
