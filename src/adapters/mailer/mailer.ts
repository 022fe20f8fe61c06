/**
 * The mailer port: how the engine sends e-mail. `smtp/` delivers through an SMTP server
 * (nodemailer); `outbox/` writes readable files for development when no SMTP server is set.
 */
export interface MailMessage {
  to: string
  subject: string
  /** Plain text; may carry a secret link, so adapters never log it. */
  text: string
  /** The same message as HTML (a mail template's HTML body), sent as the alternative part. */
  html?: string
}

export interface Mailer {
  send(message: MailMessage): Promise<void>
  close(): Promise<void>
}
