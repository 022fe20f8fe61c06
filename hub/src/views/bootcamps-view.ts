/**
 * Bootcamps and classes with their price from the payments catalogue, and enrolling through the
 * configured provider: the page opens a checkout, sends the person to the provider's page (the
 * test provider's in the demo) in a new window, and watches the checkout until the provider has
 * answered. The enrolment itself is created by the server, from the provider's verified event,
 * once: this page only reads it.
 */
import { currentUser, er, explain, money, writeKey } from '../client.ts'
import { h, show } from '../dom.ts'

interface Bootcamp {
  id: string
  title: string
  kind: string
  format?: string
  weeks?: number
  summary?: string
  product?: string
}
interface Product {
  id: string
  name: string
  amount: number
  currency: string
}
interface Enrolment {
  id: string
  bootcamp: string
  created: string
}
interface Checkout {
  id: string
  status: 'open' | 'paid' | 'failed' | 'canceled' | 'refunded'
}

const POLL_MS = 1000
/** A person takes a while on a payment page, but not all day. */
const POLL_LIMIT = 30 * 60

export async function renderBootcamps(root: HTMLElement, signal: AbortSignal): Promise<void> {
  const user = currentUser()
  const [bootcamps, products, enrolments] = await Promise.all([
    er.collection('bootcamps').list({ perPage: 50, sort: 'title' }),
    er.request<{ items: Product[] }>('/api/payments/products'),
    user ? er.collection('enrolments').list({ perPage: 100 }) : Promise.resolve({ items: [] }),
  ])
  const priceOf = new Map(products.items.map((p) => [p.id, p]))
  const enrolled = new Map((enrolments.items as unknown as Enrolment[]).map((e) => [e.bootcamp, e]))

  const card = (bootcamp: Bootcamp) => {
    const product = bootcamp.product ? priceOf.get(bootcamp.product) : undefined
    const status = h('p', { class: 'status', role: 'status' })
    const action = h('div', { class: 'enrol' })
    const showEnrolled = (e: Enrolment) =>
      show(
        action,
        h(
          'p',
          { class: 'ok', 'data-enrolment': e.id },
          `Enrolled on ${new Date(e.created).toLocaleDateString('en-US')}.`,
        ),
      )
    const existing = enrolled.get(bootcamp.id)
    if (existing) showEnrolled(existing)
    else if (!product) show(action, h('p', { class: 'muted' }, 'Not for sale right now.'))
    else if (!user) show(action, h('p', {}, h('a', { href: '#/account' }, 'Sign in'), ' to enrol.'))
    else {
      const key = writeKey()
      const button = h(
        'button',
        { type: 'button' },
        `Enrol for ${money(product.amount, product.currency)}`,
      )
      button.addEventListener('click', async () => {
        button.disabled = true
        status.textContent = 'Opening the checkout…'
        // Opened now, while the click still counts as the person's: a window opened after an
        // await may be taken for a pop-up and blocked.
        const payWindow = window.open('', 'engineroom-checkout')
        try {
          const checkout = await er.request<{ id: string; url: string }>('/api/payments/checkout', {
            method: 'POST',
            body: { product: product.id },
            headers: { 'idempotency-key': key.value },
          })
          if (payWindow) {
            payWindow.opener = null
            payWindow.location.href = checkout.url
          }
          show(
            status,
            'Complete the payment in the checkout window (',
            h('a', { href: checkout.url, target: '_blank', rel: 'noopener' }, 'open it again'),
            '). This page updates when the provider answers.',
          )
          const final = await watch(checkout.id, signal)
          if (final === 'paid') {
            const enrolment = await findEnrolment(bootcamp.id)
            if (enrolment) {
              status.textContent = 'Payment received: you are enrolled.'
              showEnrolled(enrolment)
              return
            }
          }
          status.textContent =
            final === 'open'
              ? 'The checkout is still open; reload this page once you have paid.'
              : `The payment was ${final}. Nothing was charged; you can try again.`
          // A finished checkout is spent: another attempt is a new checkout.
          key.renew()
        } catch (error) {
          payWindow?.close()
          key.settle(error)
          status.textContent = explain(error)
        }
        button.disabled = false
      })
      show(action, button)
    }
    return h(
      'li',
      { class: 'card' },
      h('h2', {}, bootcamp.title),
      h(
        'p',
        { class: 'muted' },
        [
          bootcamp.kind,
          bootcamp.format,
          bootcamp.weeks ? `${bootcamp.weeks} week${bootcamp.weeks === 1 ? '' : 's'}` : '',
        ]
          .filter(Boolean)
          .join(' · '),
      ),
      h('p', {}, bootcamp.summary ?? ''),
      action,
      status,
    )
  }

  show(
    root,
    h('h1', { tabindex: -1 }, 'Bootcamps and classes'),
    h('ul', { class: 'cards' }, ...(bootcamps.items as unknown as Bootcamp[]).map(card)),
  )
}

/**
 * Polls the checkout until the provider has settled it, the person has moved to another page
 * (`signal`), or has long gone.
 */
async function watch(id: string, signal: AbortSignal): Promise<Checkout['status']> {
  for (let i = 0; i < POLL_LIMIT && !signal.aborted; i++) {
    await new Promise((done) => setTimeout(done, POLL_MS))
    const checkout = await er.request<Checkout>(`/api/payments/checkouts/${encodeURIComponent(id)}`)
    if (checkout.status !== 'open') return checkout.status
  }
  return 'open'
}

/**
 * The enrolment a paid checkout granted. The grant is written with the payment's event, so it
 * is there when the checkout reads paid; a short wait covers a replica that is a moment behind.
 */
async function findEnrolment(bootcamp: string): Promise<Enrolment | undefined> {
  for (let i = 0; i < 5; i++) {
    const page = await er.collection('enrolments').list({ perPage: 100 })
    const found = (page.items as unknown as Enrolment[]).find((e) => e.bootcamp === bootcamp)
    if (found) return found
    await new Promise((done) => setTimeout(done, POLL_MS))
  }
  return undefined
}
