import { createHash } from 'node:crypto'
import type { FastifyPluginAsync } from 'fastify'
import { PAGE_SCRIPT_URL, PAGE_STYLE_URL } from './page-shell.js'

/**
 * The pages' stylesheet. Kept here as text rather than as a file beside the module, so a
 * bundled or copied build serves it without a copy step.
 */
const STYLE = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.5; }
body { margin: 0; display: grid; place-items: start center; min-height: 100vh; background: Canvas; color: CanvasText; }
main { width: min(32rem, 100% - 2rem); margin-top: 10vh; }
h1 { font-size: 1.5rem; }
label { display: block; margin: 0.75rem 0 0.25rem; font-weight: 600; }
input { width: 100%; box-sizing: border-box; padding: 0.5rem; font: inherit; }
button { margin-top: 1rem; padding: 0.5rem 1rem; font: inherit; cursor: pointer; }
:focus-visible { outline: 3px solid #2563eb; outline-offset: 2px; }
.error { color: #b91c1c; } .ok { color: #15803d; }
@media (prefers-color-scheme: dark) { .error { color: #fca5a5; } .ok { color: #86efac; } }
ul.links { padding-left: 1.25rem; } code { font-size: 0.95em; }
`

/**
 * The pages' script: plain browser JavaScript, no build. Every action is a call to the public
 * API, so a page can do nothing the API would not let its visitor do.
 *
 * E-mail links carry `#collection=…&token=…` in the fragment, which browsers never send to a
 * server (RFC 3986 §3.5); the script reads it, then removes it from the address bar and history.
 */
const SCRIPT = `
const body = document.body
const page = body.dataset.page
const status = document.getElementById('status')

function say(text, ok) {
  status.textContent = text
  status.className = ok ? 'ok' : 'error'
}

/** The problem's first field message (or its detail), as the API wrote it. */
async function problemText(res) {
  try {
    const problem = await res.json()
    const first = Object.entries(problem.errors || {})[0]
    if (first && first[1][0]) return first[0] + ': ' + first[1][0].message
    return problem.detail || problem.title || 'HTTP ' + res.status
  } catch {
    return 'HTTP ' + res.status
  }
}

async function post(url, payload) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  })
}

function linkParams() {
  const params = new URLSearchParams(location.hash.slice(1))
  if (location.hash) history.replaceState(null, '', location.pathname)
  return { collection: params.get('collection') || '', token: params.get('token') || '' }
}

const endpoints = {
  verify: 'verify-email',
  reset: 'reset-password',
  change: 'confirm-email-change',
}

if (page in endpoints) {
  const { collection, token } = linkParams()
  const form = document.querySelector('form')
  if (!collection || !token) {
    form.hidden = true
    say('This page opens from the link in an e-mail; the link is incomplete. Copy the whole link from the e-mail.', false)
  }
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const payload = { token }
    const password = form.elements.namedItem('password')
    const confirm = form.elements.namedItem('passwordConfirm')
    if (password) payload.password = password.value
    if (confirm && confirm.value !== password.value) return say('The two passwords differ.', false)
    const button = form.querySelector('button')
    button.disabled = true
    const url = '/api/collections/' + encodeURIComponent(collection) + '/auth/' + endpoints[page]
    const res = await post(url, payload).catch(() => null)
    button.disabled = false
    if (res && res.status === 204) {
      form.hidden = true
      return say(body.dataset.done, true)
    }
    say(res ? await problemText(res) : 'The server could not be reached. Try again.', false)
  })
}

if (page === 'setup') {
  const form = document.querySelector('form')
  const token = new URLSearchParams(location.hash.slice(1)).get('token') || ''
  if (location.hash) history.replaceState(null, '', location.pathname)
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const email = form.elements.namedItem('email').value
    const password = form.elements.namedItem('password').value
    if (password !== form.elements.namedItem('passwordConfirm').value)
      return say('The two passwords differ.', false)
    const res = await post('/api/setup', { token, email, password }).catch(() => null)
    if (res && res.status === 201) {
      form.hidden = true
      say('Superuser created. Opening the dashboard…', true)
      location.assign('/_/')
      return
    }
    say(res ? await problemText(res) : 'The server could not be reached. Try again.', false)
  })
}
`

const ASSETS = [
  { url: PAGE_SCRIPT_URL, body: SCRIPT, type: 'text/javascript; charset=utf-8' },
  { url: PAGE_STYLE_URL, body: STYLE, type: 'text/css; charset=utf-8' },
] as const

/** `GET /_pages/pages.js` and `/_pages/pages.css`, cached for an hour with an ETag. */
export const pageAssetRoutes: FastifyPluginAsync = async (app) => {
  for (const asset of ASSETS) {
    const etag = `"${createHash('sha256').update(asset.body).digest('base64url').slice(0, 22)}"`
    app.get(asset.url, async (request, reply) => {
      reply.type(asset.type).header('cache-control', 'public, max-age=3600').header('etag', etag)
      if (request.headers['if-none-match']?.split(/\s*,\s*/).includes(etag)) {
        return reply.code(304).send()
      }
      return reply.send(asset.body)
    })
  }
}
