import type { Mailer } from '../../adapters/mailer/mailer.js'
import { EngineError, invalidField } from '../../core/errors/index.js'
import type { RequestContext } from '../context.js'

/** One address, no header injection (RFC 5321 §4.5.3.1: at most 254 characters in a path). */
const ADDRESS = /^[^\s@<>()",;:\\]{1,64}@[A-Za-z0-9.-]{1,189}$/

/**
 * `POST /api/admin/settings/test-mail` `{ to }`: sends one short mail at once (not queued)
 * through the mailer in force, so the answer says whether the settings just saved work. A
 * failure names its kind (nodemailer's `code`: ECONNECTION, EAUTH, ETIMEDOUT …), never the
 * server's full answer, which could echo a credential.
 */
export async function sendTestMail(
  ctx: RequestContext,
  deps: {
    requireSettingsAdmin(ctx: RequestContext): void
    mailer: (Mailer & { via(): 'settings' | 'base' }) | undefined
  },
  body: unknown,
): Promise<{ sent: true; to: string; via: 'settings' | 'environment' }> {
  deps.requireSettingsAdmin(ctx)
  const to = (body as { to?: unknown } | null)?.to
  if (typeof to !== 'string' || !ADDRESS.test(to)) {
    throw invalidField('to', 'format', 'must be one e-mail address')
  }
  const { mailer } = deps
  if (!mailer) throw new EngineError('ER_UNAVAILABLE', 'No mailer is configured.')
  const via = mailer.via() === 'settings' ? 'settings' : 'environment'
  try {
    await mailer.send({
      to,
      subject: 'Engine Room test mail',
      text: 'This mail was sent from the Settings screen to check the mail settings. It works.',
    })
  } catch (error) {
    if (error instanceof EngineError) throw error
    const code = (error as { code?: unknown }).code
    const kind = typeof code === 'string' && /^[A-Z_]{2,32}$/.test(code) ? ` (${code})` : ''
    throw new EngineError(
      'ER_SETTINGS_TEST_MAIL_FAILED',
      `The mail server did not accept the test mail${kind}; check the host, port, TLS and sign-in.`,
    )
  }
  return { sent: true, to, via }
}
