import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'
import type { JobsService } from '../jobs/jobs-service.js'
import type { MailTemplatesService } from './mail-templates.js'

/** The job that sends one templated mail. */
export const MAIL_JOB = 'mail:send'

export interface MailQueueOptions {
  /** Attempts before the mail is dead (default 8: about 10 minutes of retries from 5 s). */
  attempts?: number
  /** First retry delay, doubled each time with jitter (default 5000 ms). */
  backoffMs?: number
}

/**
 * Auth mails through the job queue: a failing SMTP server is retried with backoff and the
 * mail is dead-lettered (visible in `GET /api/jobs`) rather than lost. The values carry a
 * live sign-in link, so the payload is sealed (AES-256-GCM under a key derived from the
 * server secret): the jobs table and the jobs API show only the template and recipient.
 */
export function createMailQueue(
  deps: { jobs: JobsService; templates: MailTemplatesService; secret: string },
  options: MailQueueOptions = {},
) {
  const key = Buffer.from(hkdfSync('sha256', deps.secret, 'engineroom', 'mail job v1', 32))

  function seal(values: Record<string, string>): string {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', key, iv)
    const data = Buffer.concat([cipher.update(JSON.stringify(values), 'utf8'), cipher.final()])
    return [iv, cipher.getAuthTag(), data].map((p) => p.toString('base64url')).join('.')
  }

  function open(sealed: string): Record<string, string> {
    const [iv, tag, data] = sealed.split('.') as [string, string, string]
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'))
    decipher.setAuthTag(Buffer.from(tag, 'base64url'))
    const text = Buffer.concat([
      decipher.update(Buffer.from(data, 'base64url')),
      decipher.final(),
    ]).toString('utf8')
    return JSON.parse(text) as Record<string, string>
  }

  deps.jobs.define(
    MAIL_JOB,
    async (payload) => {
      const { template, to, sealed } = payload as { template: string; to: string; sealed: string }
      await deps.templates.send(template, to, open(sealed))
    },
    { attempts: options.attempts ?? 8, backoffMs: options.backoffMs ?? 5000 },
  )

  return {
    /** Queues `template` for `to`; a worker renders and sends it. */
    async send(template: string, to: string, values: Record<string, string>): Promise<void> {
      await deps.jobs.enqueue(MAIL_JOB, { template, to, sealed: seal(values) })
    },
  }
}
