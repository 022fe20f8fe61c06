import type { FastifyPluginAsync } from 'fastify'
import type { FirstRunSetup } from '../../services/auth/first-run-setup.js'
import { pageHtml } from './page-shell.js'

const SETUP_PAGE = pageHtml({
  title: 'Create the first superuser',
  page: 'setup',
  body: `      <form>
        <p>This link works once. The superuser you create here administers everything; more can be added later.</p>
        <label for="email">E-mail</label>
        <input id="email" name="email" type="email" required maxlength="254" autocomplete="username" />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" required minlength="8" maxlength="256" autocomplete="new-password" />
        <label for="passwordConfirm">Password again</label>
        <input id="passwordConfirm" name="passwordConfirm" type="password" required minlength="8" maxlength="256" autocomplete="new-password" />
        <button type="submit">Create superuser</button>
      </form>
      <p id="status" role="status" aria-live="polite"></p>`,
})

/**
 * `GET /_/setup` (the page the printed link opens; the token rides in its fragment) and
 * `POST /api/setup` `{ token, email, password }` → 201 with the new superuser.
 *
 * @example
 *   await app.register(setupRoutes, { setup })
 */
export const setupRoutes: FastifyPluginAsync<{ setup: FirstRunSetup }> = async (app, { setup }) => {
  app.get('/_/setup', { config: { htmlDocument: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(SETUP_PAGE),
  )
  app.post('/api/setup', async (request, reply) => {
    const record = await setup.complete(request.body)
    return reply.status(201).send(record)
  })
}
