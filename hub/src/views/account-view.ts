/**
 * Sign-up and sign-in with Engine Room's own auth: a new account is a record created in the
 * `users` auth collection (its create rule lets anyone), then a password sign-in.
 */
import { er, explain, fieldError } from '../client.ts'
import { field, h, show } from '../dom.ts'

export function renderAccount(root: HTMLElement, signedIn: () => void): void {
  const session = er.auth.session
  if (session) {
    const record = session.record as { email?: string; name?: string }
    const out = h('button', { type: 'button' }, 'Sign out')
    out.addEventListener('click', async () => {
      await er.auth.signOut().catch(() => undefined)
      signedIn()
    })
    show(
      root,
      h('h1', { tabindex: -1 }, 'Your account'),
      h('p', {}, `Signed in as ${record.name || record.email || 'you'}.`),
      out,
    )
    return
  }
  show(
    root,
    h('h1', { tabindex: -1 }, 'Sign in or sign up'),
    h('div', { class: 'columns' }, signInForm(signedIn), signUpForm(signedIn)),
  )
}

function signInForm(signedIn: () => void): HTMLElement {
  const email = field(
    'E-mail',
    h('input', { type: 'email', name: 'email', required: true, autocomplete: 'username' }),
  )
  const password = field(
    'Password',
    h('input', {
      type: 'password',
      name: 'password',
      required: true,
      autocomplete: 'current-password',
    }),
  )
  const error = h('p', { role: 'alert', class: 'error' })
  const form = h(
    'form',
    { 'aria-labelledby': 'sign-in-title' },
    h('h2', { id: 'sign-in-title' }, 'Sign in'),
    email.row,
    password.row,
    error,
    h('button', { type: 'submit' }, 'Sign in'),
  )
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    error.textContent = ''
    try {
      const answer = await er.auth.signInWithPassword(
        'users',
        email.control.value,
        password.control.value,
      )
      if ('mfaRequired' in answer) {
        error.textContent =
          'This account uses a second factor; sign in from an app that asks for it.'
        return
      }
      signedIn()
    } catch (e) {
      error.textContent = explain(e)
      password.control.focus()
    }
  })
  return form
}

function signUpForm(signedIn: () => void): HTMLElement {
  const name = field(
    'Your name',
    h('input', { name: 'name', maxlength: 100, autocomplete: 'name' }),
  )
  const email = field(
    'E-mail',
    h('input', { type: 'email', name: 'email', required: true, autocomplete: 'email' }),
  )
  const password = field(
    'Choose a password (8 characters or more)',
    h('input', {
      type: 'password',
      name: 'password',
      required: true,
      minlength: 8,
      autocomplete: 'new-password',
    }),
  )
  const error = h('p', { role: 'alert', class: 'error' })
  const form = h(
    'form',
    { 'aria-labelledby': 'sign-up-title' },
    h('h2', { id: 'sign-up-title' }, 'Sign up'),
    name.row,
    email.row,
    password.row,
    error,
    h('button', { type: 'submit' }, 'Create account'),
  )
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    error.textContent = ''
    for (const f of [name, email, password]) f.setError(undefined)
    try {
      await er.collection('users').create({
        name: name.control.value,
        email: email.control.value,
        password: password.control.value,
      })
      await er.auth.signInWithPassword('users', email.control.value, password.control.value)
      signedIn()
    } catch (e) {
      name.setError(fieldError(e, 'name'))
      email.setError(fieldError(e, 'email'))
      password.setError(fieldError(e, 'password'))
      error.textContent = explain(e)
    }
  })
  return form
}
