/**
 * Skills by category and the roadmap, with the signed-in user's progress on each step: the
 * `progress` collection's rules let each person read and write only their own rows.
 */
import { currentUser, er, explain, writeKey } from '../client.ts'
import { field, h, show } from '../dom.ts'

interface Skill {
  id: string
  name: string
  category: string
  summary?: string
}
interface Step {
  id: string
  position: number
  title: string
  summary?: string
  expand?: { skills?: Skill[] }
}
interface Progress {
  id: string
  step: string
  status: 'started' | 'done'
}

const CATEGORIES: [string, string][] = [
  ['language', 'Languages'],
  ['framework', 'Frameworks'],
  ['database', 'Databases'],
  ['platform', 'Platforms and tools'],
  ['practice', 'Practices'],
]

export async function renderRoadmap(root: HTMLElement): Promise<void> {
  const user = currentUser()
  const [skills, steps, progress] = await Promise.all([
    er.collection('skills').list({ perPage: 200, sort: 'name' }),
    er.collection('roadmap_steps').list({ perPage: 100, sort: 'position', expand: 'skills' }),
    user
      ? er.collection('progress').list({ perPage: 100 }) // the list rule: only the caller's
      : Promise.resolve({ items: [] }),
  ])
  const byStep = new Map((progress.items as unknown as Progress[]).map((p) => [p.step, p]))
  const list = steps.items as unknown as Step[]
  const summary = h('p', { id: 'roadmap-summary', 'aria-live': 'polite' })
  const meter = h('progress', { max: list.length, 'aria-labelledby': 'roadmap-summary' })
  const count = () => {
    const done = [...byStep.values()].filter((p) => p.status === 'done').length
    meter.value = done
    summary.textContent = user
      ? `${done} of ${list.length} steps done.`
      : 'Sign in to keep track of your progress.'
  }
  count()

  const stepItem = (step: Step) => {
    const status = h(
      'select',
      { name: `step-${step.position}`, disabled: !user },
      h('option', { value: '' }, 'Not started'),
      h('option', { value: 'started' }, 'Started'),
      h('option', { value: 'done' }, 'Done'),
    )
    status.value = byStep.get(step.id)?.status ?? ''
    const control = field(`Progress on step ${step.position}`, status)
    status.addEventListener('change', async () => {
      control.setError(undefined)
      try {
        await saveProgress(step.id, status.value as Progress['status'] | '', byStep)
        count()
      } catch (error) {
        control.setError(explain(error))
        status.value = byStep.get(step.id)?.status ?? ''
      }
    })
    return h(
      'li',
      { class: 'step' },
      h('h3', {}, `${step.position}. ${step.title}`),
      h('p', {}, step.summary ?? ''),
      h('p', { class: 'tags' }, ...(step.expand?.skills ?? []).map((s) => h('span', {}, s.name))),
      user ? control.row : null,
    )
  }

  const byCategory = (category: string) =>
    (skills.items as unknown as Skill[]).filter((s) => s.category === category)
  show(
    root,
    h('h1', { tabindex: -1 }, 'Skills and the roadmap'),
    h(
      'section',
      { 'aria-labelledby': 'roadmap-title' },
      h('h2', { id: 'roadmap-title' }, 'Roadmap'),
      summary,
      user ? meter : null,
      h('ol', { class: 'steps' }, ...list.map(stepItem)),
    ),
    h(
      'section',
      { 'aria-labelledby': 'skills-title' },
      h('h2', { id: 'skills-title' }, 'Skills'),
      h(
        'div',
        { class: 'columns' },
        ...CATEGORIES.map(([category, title]) =>
          h(
            'div',
            {},
            h('h3', {}, title),
            h(
              'ul',
              { class: 'plain' },
              ...byCategory(category).map((s) =>
                h('li', {}, h('strong', {}, s.name), ' ', h('span', { class: 'muted' }, s.summary)),
              ),
            ),
          ),
        ),
      ),
    ),
  )
}

/** Creates, moves on or removes the caller's progress row for one step. */
async function saveProgress(
  step: string,
  status: Progress['status'] | '',
  byStep: Map<string, Progress>,
): Promise<void> {
  const user = currentUser()
  if (!user) return
  const existing = byStep.get(step)
  const progress = er.collection('progress')
  if (status === '') {
    if (existing) await progress.delete(existing.id)
    byStep.delete(step)
  } else if (existing) {
    byStep.set(step, (await progress.update(existing.id, { status })) as unknown as Progress)
  } else {
    const created = await progress.create(
      { user: user.id, step, status },
      { idempotencyKey: writeKey().value },
    )
    byStep.set(step, created as unknown as Progress)
  }
}
