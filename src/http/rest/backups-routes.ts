import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import type { Store } from '../../adapters/store/store.js'
import type { Clock } from '../../core/clock.js'
import { appendAudit, type AuditEntry } from '../../services/audit/audit-log.js'
import type { AuthService } from '../../services/auth/auth-service.js'
import type { RequestContext } from '../../services/context.js'
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
  /** Where taking and downloading a backup are recorded (the audit log); none: not recorded. */
  store?: Store
  /** The engine's clock: the time of those audit entries. */
  clock: Clock
}> = async (app, { backups, auth, store, clock }) => {
  // A copy of every record leaving the server is a privileged action: kept in the audit log.
  const audit = async (ctx: RequestContext, entry: AuditEntry) => {
    if (store) await store.transaction((tx) => appendAudit(tx, ctx, entry, clock))
  }

  app.get('/api/backups', async (request) => backups.list(await contextOf(request, auth)))

  app.post('/api/backups', async (request, reply) => {
    const ctx = await contextOf(request, auth)
    const run = await backups.create(ctx)
    await audit(ctx, {
      action: 'backup.create',
      target: run.name ?? '',
      detail: { size: run.size, verified: run.verified },
    })
    return reply.status(201).send(run)
  })

  app.get<{ Params: Static<typeof backupParams> }>(
    '/api/backups/:name',
    { schema: { params: backupParams } },
    async (request, reply) => {
      const { name } = request.params
      const ctx = await contextOf(request, auth)
      const { body, size } = await backups.download(ctx, name)
      await audit(ctx, { action: 'backup.download', target: name, detail: { size } })
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-length', size)
        .header('content-disposition', `attachment; filename="${name}"`)
        .header('cache-control', 'no-store')
        .send(body)
    },
  )
}
