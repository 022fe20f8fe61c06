/**
 * A few lines instead of a framework: elements built with properties and children, text always
 * set as text (never parsed as markup), so nothing a record holds can inject a script.
 */
export type Child = Node | string | number | null | undefined | false
type Props = Record<string, string | number | boolean | null | undefined | EventListener>

function apply(node: Element, props: Props): void {
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue
    if (typeof value === 'function') node.addEventListener(key.slice(2).toLowerCase(), value)
    else node.setAttribute(key, value === true ? '' : String(value))
  }
}

function append(node: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue
    node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)))
  }
}

/**
 * @example
 *   h('button', { type: 'button', onClick: () => save() }, 'Save')
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  apply(node, props)
  append(node, children)
  return node
}

/** The same for SVG elements (the salaries chart). */
export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag)
  apply(node, props)
  append(node, children)
  return node
}

/** Replaces what `node` shows. */
export function show(node: Element, ...children: Child[]): void {
  node.replaceChildren()
  append(node, children)
}

let fieldIds = 0

/**
 * A labelled input with a slot for its error, wired with `aria-describedby`.
 *
 * @example
 *   const email = field('E-mail', h('input', { type: 'email', name: 'email', required: true }))
 *   form.append(email.row)
 */
export function field<E extends HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>(
  label: string,
  control: E,
): { row: HTMLElement; control: E; setError(message: string | undefined): void } {
  const id = control.id || `f${++fieldIds}`
  control.id = id
  const error = h('span', { class: 'field-error', id: `${id}-error` })
  const row = h('div', { class: 'field' }, h('label', { for: id }, label), control, error)
  return {
    row,
    control,
    setError(message) {
      error.textContent = message ?? ''
      if (message) {
        control.setAttribute('aria-invalid', 'true')
        control.setAttribute('aria-describedby', error.id)
      } else {
        control.removeAttribute('aria-invalid')
        control.removeAttribute('aria-describedby')
      }
    },
  }
}
