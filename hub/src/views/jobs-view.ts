/**
 * Open postings with their employer and skills, and applying to one. The applications rules
 * show each applicant only their own applications (and each employer only those to theirs).
 */
import { currentUser, er, explain, fieldError, money, writeKey } from '../client.ts'
import { field, h, show } from '../dom.ts'

interface Posting {
  id: string
  title: string
  description?: string
  location?: string
  remote?: boolean
  salary_low?: number | null
  salary_high?: number | null
  expand?: { employer?: { name: string }; skills?: { name: string }[] }
}
interface Application {
  id: string
  posting: string
  applicant: string
  status: string
  created: string
}

const dollars = (value: number) => money(value * 100, 'usd').replace(/\.00$/, '')

export async function renderJobs(root: HTMLElement): Promise<void> {
  const user = currentUser()
  const [postings, applications] = await Promise.all([
    er.collection('postings').list({
      perPage: 50,
      filter: 'open = true',
      sort: '-created',
      expand: ['employer', 'skills'],
    }),
    user ? er.collection('applications').list({ perPage: 100 }) : Promise.resolve({ items: [] }),
  ])
  const mine = new Map(
    (applications.items as unknown as Application[])
      .filter((a) => a.applicant === user?.id)
      .map((a) => [a.posting, a]),
  )

  const applyForm = (posting: Posting, slot: HTMLElement) => {
    const letter = field(
      'Cover letter',
      h('textarea', { name: 'letter', rows: 4, maxlength: 8000 }) as HTMLTextAreaElement,
    )
    const status = h('p', { role: 'alert', class: 'error' })
    // One key per form: a second click (or a retry after a lost answer) cannot apply twice.
    const key = writeKey()
    const form = h(
      'form',
      { class: 'apply', 'aria-label': `Apply to ${posting.title}` },
      letter.row,
      status,
      h('button', { type: 'submit' }, 'Send application'),
    )
    form.addEventListener('submit', async (event) => {
      event.preventDefault()
      status.textContent = ''
      letter.setError(undefined)
      try {
        const created = (await er.collection('applications').create(
          {
            posting: posting.id,
            applicant: user?.id,
            letter: letter.control.value,
            status: 'submitted',
          },
          { idempotencyKey: key.value },
        )) as unknown as Application
        mine.set(posting.id, created)
        show(slot, applied(created))
        slot.querySelector('p')?.focus()
      } catch (error) {
        key.settle(error)
        letter.setError(fieldError(error, 'letter'))
        status.textContent = explain(error)
      }
    })
    return form
  }

  const applied = (a: Application) =>
    h(
      'p',
      { class: 'ok', tabindex: -1 },
      `You applied on ${new Date(a.created).toLocaleDateString('en-US')}; status: ${a.status}.`,
    )

  const item = (posting: Posting) => {
    const slot = h('div', { class: 'apply-slot' })
    const existing = mine.get(posting.id)
    if (existing) show(slot, applied(existing))
    else if (user) show(slot, applyForm(posting, slot))
    else show(slot, h('p', {}, h('a', { href: '#/account' }, 'Sign in'), ' to apply.'))
    const pay =
      posting.salary_low && posting.salary_high
        ? `${dollars(posting.salary_low)}–${dollars(posting.salary_high)}`
        : ''
    return h(
      'li',
      { class: 'card' },
      h('h2', {}, posting.title),
      h(
        'p',
        { class: 'muted' },
        [posting.expand?.employer?.name, posting.location, posting.remote ? 'remote' : '', pay]
          .filter(Boolean)
          .join(' · '),
      ),
      h('p', {}, posting.description ?? ''),
      h(
        'p',
        { class: 'tags' },
        ...(posting.expand?.skills ?? []).map((s) => h('span', {}, s.name)),
      ),
      slot,
    )
  }

  show(
    root,
    h('h1', { tabindex: -1 }, 'Jobs'),
    h('ul', { class: 'cards' }, ...(postings.items as unknown as Posting[]).map(item)),
  )
}
