import type { Transporter } from 'nodemailer'
import type { Mailer } from '../mailer.js'

/**
 * Sends through an SMTP server given as a URL (`smtp://user:pass@host:587`, `smtps://…:465`);
 * nodemailer upgrades plain connections with STARTTLS when the server offers it. nodemailer is
 * loaded on the first mail, so CLI commands that never send one do not pay for it.
 *
 * @example
 *   const mailer = createSmtpMailer({ url: 'smtp://127.0.0.1:2525', from: 'Career Hub <no-reply@example.com>' })
 */
export function createSmtpMailer(options: { url: string; from: string }): Mailer {
  let transport: Promise<Transporter> | undefined
  const connect = () =>
    (transport ??= import('nodemailer').then((m) => m.default.createTransport(options.url)))
  return {
    async send(message) {
      await (
        await connect()
      ).sendMail({
        from: options.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        ...(message.html !== undefined ? { html: message.html } : {}),
      })
    },
    async close() {
      if (transport) (await transport).close()
    },
  }
}
