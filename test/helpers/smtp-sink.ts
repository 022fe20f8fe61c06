/**
 * A real SMTP server on loopback (smtp-server) that keeps what it receives, so tests read links
 * from delivered mail exactly as a user would.
 */
import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'

export interface ReceivedMail {
  to: string[]
  raw: string
  /** The body with quoted-printable soft breaks and escapes undone. */
  text: string
}

export interface SmtpSink {
  url: string
  mails: ReceivedMail[]
  /** Waits (up to 5 s) for a mail to `to` beyond the first `after` of them, and returns it. */
  next(to: string, after?: number): Promise<ReceivedMail>
  close(): Promise<void>
}

function decodeQuotedPrintable(raw: string): string {
  return raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))
}

/** `port` 0 picks a free one; a given port lets a test bring "the same server" back up. */
export async function startSmtpSink(port = 0): Promise<SmtpSink> {
  const mails: ReceivedMail[] = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8')
        mails.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          text: decodeQuotedPrintable(raw),
        })
        callback()
      })
    },
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()))
  const bound = (server.server.address() as AddressInfo).port
  return {
    url: `smtp://127.0.0.1:${bound}`,
    mails,
    async next(to, after = 0) {
      const deadline = Date.now() + 5000
      for (;;) {
        const found = mails.filter((m) => m.to.includes(to))[after]
        if (found) return found
        if (Date.now() > deadline) throw new Error(`no mail #${after + 1} to ${to} within 5 s`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
