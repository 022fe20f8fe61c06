import type { Transporter } from 'nodemailer'
import type { Mailer } from '../mailer.js'

/** An SMTP server given field by field (the Settings screen), rather than as a URL. */
export interface SmtpServerOptions {
  host: string
  port: number
  /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
  secure: boolean
  user?: string | undefined
  password?: string | undefined
}

/**
 * Sends through an SMTP server given as a URL (`smtp://user:pass@host:587`, `smtps://…:465`);
 * nodemailer upgrades plain connections with STARTTLS when the server offers it. nodemailer is
 * loaded on the first mail, so CLI commands that never send one do not pay for it.
 *
 * @example
 *   const mailer = createSmtpMailer({ url: 'smtp://127.0.0.1:2525', from: 'Career Hub <no-reply@example.com>' })
 */
export function createSmtpMailer(
  options: ({ url: string } | { server: SmtpServerOptions }) & { from: string },
): Mailer {
  let transport: Promise<Transporter> | undefined
  const connect = () =>
    (transport ??= import('nodemailer').then((m) =>
      m.default.createTransport(
        'url' in options
          ? options.url
          : {
              host: options.server.host,
              port: options.server.port,
              secure: options.server.secure,
              ...(options.server.user
                ? { auth: { user: options.server.user, pass: options.server.password ?? '' } }
                : {}),
              // A test mail answers within the request: a dead server fails in seconds.
              connectionTimeout: 10_000,
              greetingTimeout: 10_000,
              socketTimeout: 20_000,
            },
      ),
    ))
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
