import { describe, expect, it } from 'vitest'
import { SseStream, type StreamSink } from './sse-stream.js'

function streamWithSink() {
  const written: string[] = []
  let ended = false
  const sink: StreamSink = {
    write: (chunk) => void written.push(chunk),
    bufferedBytes: () => 0,
    end: () => void (ended = true),
  }
  const stream = new SseStream(sink, {
    ctx: { auth: null, requestId: 'r1', query: {} },
    token: 't',
    topics: [{ collection: 'posts' }],
    filter: undefined,
    maxBufferBytes: 1024,
  })
  return { stream, written, ended: () => ended }
}

describe('SseStream.fail', () => {
  it('ends with a problem document and the id to resume from once positioned', () => {
    const { stream, written, ended } = streamWithSink()
    stream.positioned = true
    stream.lastId = 41
    stream.fail('subscriber_failed', 'Could not deliver; reconnect.')
    expect(written).toHaveLength(1)
    const frame = written[0] as string
    expect(frame).toMatch(/^event: error\ndata: \{"reason":"subscriber_failed".*\}\nid: 41\n\n$/)
    const data = JSON.parse(/^data: (.*)$/m.exec(frame)?.[1] as string) as Record<string, unknown>
    expect(data).toEqual({
      reason: 'subscriber_failed',
      message: 'Could not deliver; reconnect.',
      type: 'urn:engineroom:error:ER_INTERNAL',
      title: 'Internal server error',
      status: 500,
      detail: 'Could not deliver; reconnect.',
      code: 'ER_INTERNAL',
      lastEventId: '41',
    })
    expect(ended()).toBe(true)
    expect(stream.closed).toBe(true)
    // Ended once: a second failure writes nothing.
    stream.fail('shutdown', 'again')
    expect(written).toHaveLength(1)
  })

  it('names no id before the hub placed the stream (0 would mean "replay everything")', () => {
    const { stream, written } = streamWithSink()
    stream.fail('shutdown', 'The server is shutting down.')
    const frame = written[0] as string
    expect(frame).not.toMatch(/^id:/m)
    expect(frame).not.toContain('lastEventId')
    expect(frame).toContain('"code":"ER_UNAVAILABLE"')
  })

  it.each([
    ['unauthorized', 'ER_AUTH_TOKEN_INVALID', 401],
    ['slow_consumer', 'ER_UNAVAILABLE', 503],
    ['shutdown', 'ER_UNAVAILABLE', 503],
    ['something_new', 'ER_UNAVAILABLE', 503],
  ])('reason %s carries %s', (reason, code, status) => {
    const { stream, written } = streamWithSink()
    stream.fail(reason, 'why')
    expect(written[0]).toContain(`"code":"${code}"`)
    expect(written[0]).toContain(`"status":${status}`)
  })
})
