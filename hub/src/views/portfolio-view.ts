/**
 * The signed-in user's portfolio: a headline, then projects with screenshots uploaded as a
 * record's file field and shown as the thumbnails the field declares (`320x200`). Everyone sees
 * the latest projects of all portfolios (their rules make them public).
 */
import { currentUser, er, explain, fieldError, writeKey } from '../client.ts'
import { field, h, show } from '../dom.ts'

interface Portfolio {
  id: string
  owner: string
  headline: string
  about?: string
}
interface Project {
  id: string
  portfolio: string
  title: string
  case_study?: string
  screenshots?: string[]
  expand?: { portfolio?: Portfolio }
}

/** Record ids are URL-safe; anything else never reaches a filter. */
const SAFE_ID = /^[A-Za-z0-9_-]{1,64}$/

function projectCard(project: Project): HTMLElement {
  return h(
    'li',
    { class: 'card project' },
    h('h3', {}, project.title),
    project.expand?.portfolio
      ? h('p', { class: 'muted' }, project.expand.portfolio.headline)
      : null,
    h('p', {}, project.case_study ?? ''),
    h(
      'div',
      { class: 'shots' },
      ...(project.screenshots ?? []).map((name) =>
        h(
          'a',
          { href: er.files.url('projects', project.id, name) },
          // Width and height reserve the thumbnail's box before it loads: no layout shift.
          h('img', {
            src: er.files.url('projects', project.id, name, { thumb: '320x200' }),
            width: 320,
            height: 200,
            alt: `Screenshot of ${project.title}`,
            loading: 'lazy',
          }),
        ),
      ),
    ),
  )
}

export async function renderPortfolio(root: HTMLElement): Promise<void> {
  const user = currentUser()
  const again = () => renderPortfolio(root)
  const [recent, mine] = await Promise.all([
    er.collection('projects').list({ perPage: 12, sort: '-created', expand: 'portfolio' }),
    user && SAFE_ID.test(user.id)
      ? er.collection('portfolios').list({ filter: `owner = "${user.id}"` })
      : undefined,
  ])
  const portfolio = mine?.items[0] as unknown as Portfolio | undefined
  // Everything is fetched before anything is shown: one paint, nothing pushed down later.
  const mineContent = !user
    ? [
        h('h2', { id: 'mine-title' }, 'Your portfolio'),
        h('p', {}, h('a', { href: '#/account' }, 'Sign in'), ' to build yours.'),
      ]
    : portfolio
      ? await portfolioContent(portfolio, again)
      : newPortfolioForm(user.id, again)
  show(
    root,
    h('h1', { tabindex: -1 }, 'Portfolios'),
    h('section', { 'aria-labelledby': 'mine-title' }, ...mineContent),
    h(
      'section',
      { 'aria-labelledby': 'recent-title' },
      h('h2', { id: 'recent-title' }, 'Recent projects'),
      h('ul', { class: 'cards' }, ...(recent.items as unknown as Project[]).map(projectCard)),
    ),
  )
}

function newPortfolioForm(owner: string, done: () => Promise<void>): Node[] {
  const headline = field(
    'Headline',
    h('input', { name: 'headline', required: true, maxlength: 160 }),
  )
  const error = h('p', { role: 'alert', class: 'error' })
  const key = writeKey()
  const form = h(
    'form',
    { 'aria-labelledby': 'mine-title' },
    headline.row,
    error,
    h('button', { type: 'submit' }, 'Create portfolio'),
  )
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    try {
      await er
        .collection('portfolios')
        .create({ owner, headline: headline.control.value }, { idempotencyKey: key.value })
      await done()
    } catch (e) {
      key.settle(e)
      headline.setError(fieldError(e, 'headline'))
      error.textContent = explain(e)
    }
  })
  return [h('h2', { id: 'mine-title' }, 'Your portfolio'), form]
}

async function portfolioContent(portfolio: Portfolio, done: () => Promise<void>): Promise<Node[]> {
  const projects = await er
    .collection('projects')
    .list({ perPage: 50, sort: '-created', filter: `portfolio = "${portfolio.id}"` })
  const title = field(
    'Project title',
    h('input', { name: 'title', required: true, maxlength: 160 }),
  )
  const story = field(
    'What you built and why',
    h('textarea', { name: 'case_study', rows: 3, maxlength: 20000 }) as HTMLTextAreaElement,
  )
  const shots = field(
    'Screenshots (PNG, JPEG or WebP)',
    h('input', {
      type: 'file',
      name: 'screenshots',
      multiple: true,
      accept: 'image/png,image/jpeg,image/webp',
    }),
  )
  const error = h('p', { role: 'alert', class: 'error' })
  const key = writeKey()
  const form = h(
    'form',
    { 'aria-label': 'Add a project' },
    title.row,
    story.row,
    shots.row,
    error,
    h('button', { type: 'submit' }, 'Add project'),
  )
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const body = new FormData()
    body.set('portfolio', portfolio.id)
    body.set('title', title.control.value)
    body.set('case_study', story.control.value)
    for (const file of shots.control.files ?? []) body.append('screenshots', file)
    try {
      await er.collection('projects').create(body, { idempotencyKey: key.value })
      await done()
    } catch (e) {
      key.settle(e)
      title.setError(fieldError(e, 'title'))
      shots.setError(fieldError(e, 'screenshots'))
      error.textContent = explain(e)
    }
  })
  return [
    h('h2', { id: 'mine-title' }, `Your portfolio: ${portfolio.headline}`),
    h('ul', { class: 'cards' }, ...(projects.items as unknown as Project[]).map(projectCard)),
    h('h3', {}, 'Add a project'),
    form,
  ]
}
