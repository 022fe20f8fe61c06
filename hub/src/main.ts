/**
 * The career hub's page: one document, the screen chosen by the URL fragment (`#/jobs`), so the
 * server serves a single file for every screen. On each move the new screen's heading takes the
 * focus, which tells a screen-reader user where they are, as a page load would.
 */
import './styles.css'
import { ProblemError } from '@engineroom/client'
import { currentUser, er, explain } from './client.ts'
import { h, show } from './dom.ts'
import { renderAccount } from './views/account-view.ts'
import { renderBootcamps } from './views/bootcamps-view.ts'
import { renderJobs } from './views/jobs-view.ts'
import { renderPortfolio } from './views/portfolio-view.ts'
import { renderRoadmap } from './views/roadmap-view.ts'
import { renderSalaries } from './views/salaries-view.ts'

type View = (root: HTMLElement, signal: AbortSignal) => Promise<void> | void

const VIEWS: Record<string, [string, View]> = {
  roadmap: ['Roadmap', renderRoadmap],
  salaries: ['Salaries', renderSalaries],
  jobs: ['Jobs', renderJobs],
  portfolio: ['Portfolio', renderPortfolio],
  bootcamps: ['Bootcamps', renderBootcamps],
  account: ['Account', (root) => renderAccount(root, signedInOrOut)],
}

const main = document.getElementById('main') as HTMLElement
const nav = document.getElementById('nav') as HTMLElement
const who = document.getElementById('who') as HTMLElement
let current: AbortController | undefined

function route(): string {
  const name = location.hash.replace(/^#\/?/, '')
  return name in VIEWS ? name : 'roadmap'
}

function renderChrome(active: string): void {
  show(
    nav,
    ...Object.entries(VIEWS)
      .filter(([name]) => name !== 'account')
      .map(([name, [label]]) =>
        h('a', { href: `#/${name}`, 'aria-current': name === active ? 'page' : null }, label),
      ),
  )
  const user = currentUser()
  show(
    who,
    h(
      'a',
      { href: '#/account', 'aria-current': active === 'account' ? 'page' : null },
      user ? user.name || user.email : 'Sign in',
    ),
  )
}

async function render(moveFocus: boolean, refreshed = false): Promise<void> {
  current?.abort()
  const controller = (current = new AbortController())
  const name = route()
  const [label, view] = VIEWS[name] as [string, View]
  document.title = `${label} · Career hub`
  renderChrome(name)
  main.setAttribute('aria-busy', 'true')
  try {
    await view(main, controller.signal)
  } catch (error) {
    if (controller.signal.aborted) return
    // An access token lasts an hour; the refresh token renews it once, then the screen again.
    if (!refreshed && error instanceof ProblemError && error.status === 401 && er.auth.session) {
      const renewed = await er.auth.refresh().then(
        () => true,
        () => false,
      )
      if (renewed) return render(moveFocus, true)
    }
    show(
      main,
      h('h1', { tabindex: -1 }, label),
      h('p', { role: 'alert', class: 'error' }, explain(error)),
    )
    renderChrome(name)
  } finally {
    if (!controller.signal.aborted) main.removeAttribute('aria-busy')
  }
  if (moveFocus && !controller.signal.aborted) main.querySelector<HTMLElement>('h1')?.focus()
}

/** After signing in or out: back to where the person was going, or the roadmap. */
function signedInOrOut(): void {
  if (location.hash === '#/account') location.hash = er.auth.session ? '#/roadmap' : '#/account'
  else void render(true)
}

window.addEventListener('hashchange', () => void render(true))
void render(false)

// The skip link moves the focus without touching the fragment, which names the screen.
document.querySelector('.skip')?.addEventListener('click', (event) => {
  event.preventDefault()
  main.focus()
})
