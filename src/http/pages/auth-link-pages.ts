import type { FastifyPluginAsync } from 'fastify'
import { pageHtml } from './page-shell.js'

const status = '      <p id="status" role="status" aria-live="polite"></p>'

function passwordInput(name: string, label: string, autocomplete: string): string {
  return `        <label for="${name}">${label}</label>
        <input id="${name}" name="${name}" type="password" required minlength="8" maxlength="256" autocomplete="${autocomplete}" />`
}

/**
 * The pages the auth e-mails link to (`<ER_APP_URL>/auth/<flow>#collection=…&token=…`), so that
 * every flow works end to end with no app of one's own: with no `ER_APP_URL` set, the links point
 * at this server. Each page is a form whose script posts the token (from the fragment) to the
 * public API endpoint of the same name; an app that sets `ER_APP_URL` serves its own instead.
 */
const PAGES = {
  '/auth/verify-email': pageHtml({
    title: 'Verify your e-mail',
    page: 'verify',
    data: { done: 'Your e-mail address is verified. You can close this page.' },
    body: `      <form>
        <p>Confirm that this e-mail address is yours.</p>
        <button type="submit">Verify my e-mail</button>
      </form>
${status}`,
  }),
  '/auth/reset-password': pageHtml({
    title: 'Choose a new password',
    page: 'reset',
    data: {
      done: 'Your password is changed and every other session is signed out. Sign in with the new one.',
    },
    body: `      <form>
${passwordInput('password', 'New password', 'new-password')}
${passwordInput('passwordConfirm', 'New password again', 'new-password')}
        <button type="submit">Set the new password</button>
      </form>
${status}`,
  }),
  '/auth/confirm-email-change': pageHtml({
    title: 'Confirm your new e-mail',
    page: 'change',
    data: { done: 'Your e-mail address is changed. Sign in again with the new address.' },
    body: `      <form>
        <p>To prove the account is yours, enter its current password.</p>
${passwordInput('password', 'Current password', 'current-password')}
        <button type="submit">Confirm the new e-mail</button>
      </form>
${status}`,
  }),
} as const

/**
 * `GET /auth/verify-email`, `/auth/reset-password`, `/auth/confirm-email-change`.
 *
 * @example
 *   await app.register(authLinkPages)
 */
export const authLinkPages: FastifyPluginAsync = async (app) => {
  for (const [url, html] of Object.entries(PAGES)) {
    app.get(url, { config: { htmlDocument: true } }, async (_request, reply) =>
      reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html),
    )
  }
}
