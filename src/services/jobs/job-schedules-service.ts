import type { JobScheduleRow, Store } from '../../adapters/store/store.js'
import type { Clock } from '../../core/clock.js'
import { EngineError, invalidField } from '../../core/errors/index.js'
import { newId } from '../../core/ids.js'
import { requireAdminScope } from '../admin-access.js'
import type { RequestContext } from '../context.js'
import { compileCron, MAX_STORED_SCHEDULES, STORED_SCHEDULE_PREFIX } from './scheduler.js'

const NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,100}$/
const MAX_PAYLOAD_BYTES = 64 * 1024
const FIELDS = new Set(['name', 'cron', 'tz', 'job', 'payload', 'enabled'])

/** A stored schedule as the admin API shows it. */
export interface JobScheduleView {
  id: string
  name: string
  cron: string
  tz: string
  job: string
  payload: unknown
  enabled: boolean
  /** The next tick from now (null when disabled, or a pattern with no future tick). */
  nextRun: string | null
  /** The newest tick claimed (its job queued), by any node. */
  lastTick: string | null
  created: string
  updated: string
}

export interface JobSchedulesDeps {
  store: Store
  clock: Clock
  /** Whether a handler for the job is defined (a typo is refused rather than left to die). */
  isDefined(job: string): boolean
  /** Names under this prefix belong to code schedules (`cron:`) and cannot be queued here. */
  reservedPrefix: string
}

export type JobSchedulesService = ReturnType<typeof createJobSchedulesService>

/**
 * `/api/schedules` (superusers): cron schedules stored in the database, so every node's
 * scheduler sees them, each queueing `job` with `payload` at every tick in `tz`. A tick runs
 * once across all nodes (the claim in `_schedule_ticks`), and after downtime only the newest
 * missed tick runs. Changing `cron` or `tz`, or enabling a schedule again, starts it afresh:
 * ticks before the change are not missed ones.
 *
 * @example
 *   POST /api/schedules
 *   { "name": "digest", "cron": "0 8 * * 1-5", "tz": "Europe/Paris",
 *     "job": "send-digest", "payload": { "list": "weekly" } }
 */
export function createJobSchedulesService(deps: JobSchedulesDeps) {
  const { store, clock } = deps

  async function view(row: JobScheduleRow): Promise<JobScheduleView> {
    let next: Date | null = null
    try {
      if (row.enabled) next = compileCron(row.cron, row.tz, row.name).nextRun(clock.now())
    } catch {
      // Saved valid; a runtime that no longer knows its zone shows no next run.
    }
    return {
      id: row.id,
      name: row.name,
      cron: row.cron,
      tz: row.tz,
      job: row.job,
      payload: JSON.parse(row.payload) as unknown,
      enabled: row.enabled,
      nextRun: next ? next.toISOString() : null,
      lastTick: (await store.jobs.lastTick(`${STORED_SCHEDULE_PREFIX}${row.id}`)) ?? null,
      created: row.created,
      updated: row.updated,
    }
  }

  /** The fields given, each checked; the error names the first field at fault. */
  function readInput(input: unknown): Partial<Omit<JobScheduleRow, 'id'>> {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw invalidField('body', 'type', 'the body is a JSON object')
    }
    const body = input as Record<string, unknown>
    for (const key of Object.keys(body)) {
      if (!FIELDS.has(key)) throw invalidField(key, 'unknown', `"${key}" is not a schedule field`)
    }
    const out: Partial<Omit<JobScheduleRow, 'id'>> = {}
    if (body.name !== undefined) {
      if (typeof body.name !== 'string' || !NAME_PATTERN.test(body.name)) {
        throw invalidField('name', 'pattern', 'name is 1–100 of A-Z a-z 0-9 _ . : -')
      }
      out.name = body.name
    }
    if (body.cron !== undefined) {
      if (typeof body.cron !== 'string' || body.cron.length === 0 || body.cron.length > 200) {
        throw invalidField('cron', 'type', 'cron is a cron expression of at most 200 characters')
      }
      out.cron = body.cron
    }
    if (body.tz !== undefined) {
      if (typeof body.tz !== 'string' || body.tz.length === 0 || body.tz.length > 100) {
        throw invalidField('tz', 'type', 'tz is an IANA time zone name such as Europe/Paris')
      }
      out.tz = body.tz
    }
    if (body.job !== undefined) {
      if (typeof body.job !== 'string' || !NAME_PATTERN.test(body.job)) {
        throw invalidField('job', 'pattern', 'job is a job name: 1–100 of A-Z a-z 0-9 _ . : -')
      }
      if (body.job.startsWith(deps.reservedPrefix) || !deps.isDefined(body.job)) {
        throw invalidField('job', 'unknown', `no handler for the job "${body.job}" is defined`)
      }
      out.job = body.job
    }
    if (body.payload !== undefined) {
      const text = JSON.stringify(body.payload)
      if (Buffer.byteLength(text) > MAX_PAYLOAD_BYTES) {
        throw invalidField('payload', 'too_large', `payload is at most ${MAX_PAYLOAD_BYTES} bytes`)
      }
      out.payload = text
    }
    if (body.enabled !== undefined) {
      if (typeof body.enabled !== 'boolean') {
        throw invalidField('enabled', 'type', 'enabled is true or false')
      }
      out.enabled = body.enabled
    }
    return out
  }

  async function mustGet(id: string): Promise<JobScheduleRow> {
    const row = await store.jobs.getJobSchedule(id)
    if (!row) throw new EngineError('ER_SCHEDULE_NOT_FOUND', `No schedule "${id}".`)
    return row
  }

  const nameTaken = (name: string) =>
    new EngineError('ER_SCHEDULE_NAME_TAKEN', `A schedule named "${name}" exists.`, {
      errors: { name: [{ code: 'taken', message: 'another schedule has this name' }] },
    })

  return {
    async list(ctx: RequestContext): Promise<{ items: JobScheduleView[] }> {
      requireAdminScope(ctx, 'list')
      const rows = await store.jobs.listJobSchedules(MAX_STORED_SCHEDULES)
      return { items: await Promise.all(rows.map(view)) }
    },

    async get(ctx: RequestContext, id: string): Promise<JobScheduleView> {
      requireAdminScope(ctx, 'view')
      return view(await mustGet(id))
    },

    async create(ctx: RequestContext, input: unknown): Promise<JobScheduleView> {
      requireAdminScope(ctx, 'create')
      const given = readInput(input)
      for (const field of ['name', 'cron', 'job'] as const) {
        if (given[field] === undefined)
          throw invalidField(field, 'required', `${field} is required`)
      }
      const tz = given.tz ?? 'UTC'
      compileCron(given.cron as string, tz, 'cron')
      if (
        (await store.jobs.listJobSchedules(MAX_STORED_SCHEDULES)).length >= MAX_STORED_SCHEDULES
      ) {
        throw invalidField('name', 'limit', `at most ${MAX_STORED_SCHEDULES} schedules`)
      }
      const now = clock.now().toISOString()
      const row: JobScheduleRow = {
        id: newId(),
        name: given.name as string,
        cron: given.cron as string,
        tz,
        job: given.job as string,
        payload: given.payload ?? 'null',
        enabled: given.enabled ?? true,
        since: now,
        created: now,
        updated: now,
      }
      if (!(await store.jobs.insertJobSchedule(row))) throw nameTaken(row.name)
      return view(row)
    },

    async update(ctx: RequestContext, id: string, input: unknown): Promise<JobScheduleView> {
      requireAdminScope(ctx, 'update')
      const given = readInput(input)
      const row = await mustGet(id)
      const next: JobScheduleRow = { ...row, ...given, updated: clock.now().toISOString() }
      compileCron(next.cron, next.tz, 'cron')
      // A new pattern or zone, or enabling again, starts afresh (no "missed" ticks from before).
      if (next.cron !== row.cron || next.tz !== row.tz || (next.enabled && !row.enabled)) {
        next.since = next.updated
      }
      if (!(await store.jobs.updateJobSchedule(next))) throw nameTaken(next.name)
      return view(next)
    },

    async remove(ctx: RequestContext, id: string): Promise<void> {
      requireAdminScope(ctx, 'delete')
      if (!(await store.jobs.deleteJobSchedule(id))) {
        throw new EngineError('ER_SCHEDULE_NOT_FOUND', `No schedule "${id}".`)
      }
    },
  }
}
