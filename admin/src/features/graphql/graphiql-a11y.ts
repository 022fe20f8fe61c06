/** The hidden textarea CodeMirror 5 types into, per GraphiQL editor, and what it is called. */
const EDITOR_LABELS: [selector: string, label: string][] = [
  ['.graphiql-query-editor textarea', 'Query'],
  ['.graphiql-editor-tool > .graphiql-editor:nth-of-type(1) textarea', 'Variables'],
  ['.graphiql-editor-tool > .graphiql-editor:nth-of-type(2) textarea', 'Headers'],
  ['.graphiql-response textarea', 'Result'],
]

/**
 * Mends the two things axe finds wrong in GraphiQL 4's own markup, on `root` now and after every
 * change GraphiQL makes to it (a new tab brings new editors):
 * - CodeMirror 5's textareas, where a screen reader's keystrokes go, carry no label ("label",
 *   critical): each gets its editor's name;
 * - a session tab is `<li role="tab">` around the button that takes focus and clicks
 *   ("nested-interactive", serious): the tab role and its selected state move to the button.
 * Returns the function that stops watching.
 *
 * @example
 *   useEffect(() => mendGraphiqlA11y(container.current!), [])
 */
export function mendGraphiqlA11y(root: HTMLElement): () => void {
  const mend = () => {
    for (const [selector, label] of EDITOR_LABELS) {
      for (const area of root.querySelectorAll(selector)) {
        setIfChanged(area, 'aria-label', label)
      }
    }
    for (const tab of root.querySelectorAll('li.graphiql-tab')) {
      const button = tab.querySelector('button.graphiql-tab-button')
      if (!button) continue
      // React keeps writing `aria-selected` on the `li` as tabs change; its class says the same.
      const selected = String(tab.classList.contains('graphiql-tab-active'))
      setIfChanged(button, 'role', 'tab')
      setIfChanged(button, 'aria-selected', selected)
      setIfChanged(tab, 'role', 'presentation')
      if (tab.hasAttribute('aria-selected')) tab.removeAttribute('aria-selected')
    }
  }
  mend()
  const observer = new MutationObserver(mend)
  observer.observe(root, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ['class', 'aria-selected', 'role'],
  })
  return () => observer.disconnect()
}

/** Writes only a changed value, so the observer's own writes do not wake it again. */
function setIfChanged(element: Element, name: string, value: string): void {
  if (element.getAttribute(name) !== value) element.setAttribute(name, value)
}
