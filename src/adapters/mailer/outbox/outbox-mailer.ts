import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { Mailer } from '../mailer.js'

/**
 * Development mailer: each message becomes a readable `.eml` file in `dir` (open it in any mail
 * client or a text editor). The log line names the file, recipient and subject only: the body
 * holds single-use links that must not end up in log storage.
 *
 * @example
 *   const mailer = createOutboxMailer({ dir: 'er_data/outbox', from: 'no-reply@localhost', log: console.info })
 */
/** The text alone, or text and HTML as the two parts of `multipart/alternative` (RFC 2046). */
function body(text: string, html: string | undefined): string[] {
  if (html === undefined) return ['Content-Type: text/plain; charset=utf-8', '', text, '']
  const boundary = `er-${randomBytes(12).toString('hex')}`
  return [
    'MIME-Version: 1.0',
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    text,
    `--${boundary}`,
    'Content-Type: text/html; charset=utf-8',
    '',
    html,
    `--${boundary}--`,
    '',
  ]
}

export function createOutboxMailer(options: {
  dir: string
  from: string
  log: (fields: Record<string, string>, message: string) => void
}): Mailer {
  return {
    async send(message) {
      await mkdir(options.dir, { recursive: true, mode: 0o700 })
      const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(4).toString('hex')}.eml`
      const file = join(options.dir, name)
      const eml = [
        `From: ${options.from}`,
        `To: ${message.to}`,
        `Subject: ${message.subject}`,
        `Date: ${new Date().toUTCString()}`,
        ...body(message.text, message.html),
      ].join('\r\n')
      // 0600: the file carries a live link; only the server's user may read it.
      await writeFile(file, eml, { mode: 0o600 })
      options.log({ file, to: message.to, subject: message.subject }, 'mail written to outbox')
    },
    async close() {},
  }
}
