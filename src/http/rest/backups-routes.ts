import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import type { AuthService } from '../../services/auth/auth-service.js'
import type { BackupsService } from '../../services/backups/backups-service.js'
import { contextOf } from '../plugins/request-context.js'

const backupParams = Type.Object({
  name: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,100}$' }),
})

/**
 * `GET /api/backups` (list), `POST /api/backups` (take one now, verified before it answers) and
 * `GET /api/backups/{name}` (download), for superusers signed in as such.
 */
export const backupsRoutes: FastifyPluginAsync<{
  backups: BackupsService
  auth: AuthService
}> = async (app, { backups, auth }) => {
  app.get('/api/backups', async (request) => backups.list(await contextOf(request, auth)))

  app.post('/api/backups', async (request, reply) => {
    const run = await backups.create(await contextOf(request, auth))
    return reply.status(201).send(run)
  })

  app.get<{ Params: Static<typeof backupParams> }>(
    '/api/backups/:name',
    { schema: { params: backupParams } },
    async (request, reply) => {
      const { name } = request.params
      const { body, size } = await backups.download(await contextOf(request, auth), name)
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-length', size)
        .header('content-disposition', `attachment; filename="${name}"`)
        .header('cache-control', 'no-store')
        .send(body)
    },
  )
}
