import nodemailer from 'nodemailer'
import type { Mailer } from '../mailer.js'

/**
 * Sends through an SMTP server given as a URL (`smtp://user:pass@host:587`, `smtps://…:465`);
 * nodemailer upgrades plain connections with STARTTLS when the server offers it.
 *
 * @example
 *   const mailer = createSmtpMailer({ url: 'smtp://127.0.0.1:2525', from: 'Career Hub <no-reply@example.com>' })
 */
export function createSmtpMailer(options: { url: string; from: string }): Mailer {
  const transport = nodemailer.createTransport(options.url)
  return {
    async send(message) {
      await transport.sendMail({
        from: options.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
      })
    },
    async close() {
      transport.close()
    },
  }
}
