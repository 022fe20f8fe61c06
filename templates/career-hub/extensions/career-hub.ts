/**
 * The career hub's extension: what its access rules cannot do. `engineroom init --template
 * career-hub` copies this file into the data directory (`extensions/career-hub.ts`, never over
 * an edited copy) and `npm run demo` serves with it:
 *
 *   engineroom serve --dir demo_data --extensions demo_data/extensions/career-hub.ts
 *
 * A rule decides who may write a record; it cannot write another. So when someone applies to a
 * job, this tells the posting's employer: a record in `notifications`, which only that employer
 * reads (its list rule: `user = @request.auth.id`). It says which posting and which application,
 * nothing the employer could not already read through the applications rules.
 */
import { defineExtension } from 'engineroom'

export default defineExtension((er) => {
  // After commit, from the outbox: at least once, retried until it succeeds.
  er.records('applications').after('create', async (e) => {
    const posting = await e.sudo.view('postings', String(e.record.posting), { expand: 'employer' })
    const employer = (posting.expand as { employer?: { owner?: string | null } } | undefined)
      ?.employer
    // A seeded employer has no account to tell.
    if (!employer?.owner) return
    try {
      await e.sudo.create('notifications', {
        user: employer.owner,
        application: e.id,
        title: `New application to "${String(posting.title)}"`,
      })
    } catch (error) {
      // A repeat delivery (after a crash between the write and the cursor) meets the unique
      // index on `application`: the employer was told already, once is enough.
      if ((error as { code?: string }).code === 'ER_RECORD_CONFLICT') return
      throw error
    }
  })
})
