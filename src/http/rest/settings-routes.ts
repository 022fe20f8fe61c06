import type { FastifyPluginAsync } from 'fastify'
import type { AuthService } from '../../services/auth/auth-service.js'
import type { Engine } from '../../services/create-engine.js'
import { contextOf } from '../plugins/request-context.js'

/**
 * `/api/admin/settings` (superusers signed in as such, never an API key):
 * - `GET`: every setting with its source (`environment`, `database`, `default`), the variable
 *   that fixes it, and its value (a secret only says whether it is set);
 * - `PATCH`: the keys given, all or none (`null` resets a key; for a secret, clears it);
 * - `POST /test-mail` `{ to }`: one mail through the mailer in force, at once.
 * The service validates the body (each problem names its key); answers are never cached.
 */
export const settingsRoutes: FastifyPluginAsync<{
  settings: Engine['settings']
  auth: AuthService
}> = async (app, { settings, auth }) => {
  app.get('/api/admin/settings', async (request, reply) => {
    reply.header('cache-control', 'no-store')
    return settings.read(await contextOf(request, auth))
  })

  app.patch('/api/admin/settings', async (request, reply) => {
    reply.header('cache-control', 'no-store')
    return settings.update(await contextOf(request, auth), request.body)
  })

  app.post('/api/admin/settings/test-mail', async (request, reply) => {
    reply.header('cache-control', 'no-store')
    return settings.sendTestMail(await contextOf(request, auth), request.body)
  })
}
