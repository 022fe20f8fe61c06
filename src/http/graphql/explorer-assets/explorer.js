// Engine Room's GraphQL explorer: plain browser JavaScript with no dependencies, loaded as a
// module from this origin because the page's CSP allows no inline script (`script-src 'self'`).
//
// Security: every string that comes from the server (results, errors, schema names and
// descriptions) reaches the DOM as a text node or through textContent, never as markup. The token
// is kept in sessionStorage only, so it dies with the tab and is never written to disk by us.

const endpoint = document.body.dataset.endpoint || '/graphql'

const TOKEN_KEY = 'engineroom.explorer.token'
const QUERY_KEY = 'engineroom.explorer.query'
const VARIABLES_KEY = 'engineroom.explorer.variables'

const isMac = /Mac|iPhone|iPad/.test(navigator.userAgentData?.platform ?? navigator.platform)
const RUN_SHORTCUT = isMac ? '⌘+Enter' : 'Ctrl+Enter'

const DEFAULT_QUERY = `# Write a GraphQL operation, then press ${RUN_SHORTCUT} or Run.
# Open Docs to browse the schema.
{
  __typename
}
`

const TYPE_REF =
  'kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }'

const INTROSPECTION_QUERY = `query ExplorerIntrospection {
  __schema {
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types {
      kind
      name
      description
      fields(includeDeprecated: true) {
        name
        description
        args { name description defaultValue type { ${TYPE_REF} } }
        type { ${TYPE_REF} }
        isDeprecated
        deprecationReason
      }
      inputFields { name description defaultValue type { ${TYPE_REF} } }
      interfaces { ${TYPE_REF} }
      enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
      possibleTypes { ${TYPE_REF} }
    }
  }
}`

/**
 * Builds an element. Props named `on<event>` become listeners, `true` becomes an empty attribute,
 * `false`/`null`/`undefined` are left out; children that are strings become text nodes.
 */
function h(tag, props = {}, ...children) {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value)
    else node.setAttribute(key, value === true ? '' : String(value))
  }
  node.append(...children.flat().filter((child) => child !== null && child !== undefined))
  return node
}

/** Web Storage can be disabled or full; the explorer still works, it just forgets. */
function readStored(storage, key) {
  try {
    return storage.getItem(key)
  } catch {
    return null
  }
}

function writeStored(storage, key, value) {
  try {
    if (value) storage.setItem(key, value)
    else storage.removeItem(key)
  } catch {
    // Nothing to do: the value simply is not remembered.
  }
}

// ---------------------------------------------------------------------------------------------
// Layout

const tokenInput = h('input', {
  id: 'er-token',
  type: 'password',
  autocomplete: 'off',
  spellcheck: 'false',
  placeholder: 'Sent as Bearer, kept for this tab',
  'aria-describedby': 'er-token-hint',
})
const runButton = h('button', { type: 'button', class: 'primary', id: 'er-run' }, 'Run')
runButton.title = `Run the operation (${RUN_SHORTCUT})`
const docsButton = h(
  'button',
  { type: 'button', id: 'er-docs-toggle', 'aria-expanded': 'false', 'aria-controls': 'er-docs' },
  'Docs',
)

const queryInput = h('textarea', {
  id: 'er-query',
  class: 'code',
  spellcheck: 'false',
  autocapitalize: 'off',
  autocomplete: 'off',
  rows: '14',
  'aria-describedby': 'er-query-hint',
})
const variablesInput = h('textarea', {
  id: 'er-variables',
  class: 'code',
  spellcheck: 'false',
  autocapitalize: 'off',
  autocomplete: 'off',
  rows: '5',
  placeholder: '{ "id": "…" }',
  'aria-describedby': 'er-variables-error',
})
const variablesError = h('p', { id: 'er-variables-error', class: 'error', role: 'alert' })

const statusLine = h('p', { id: 'er-status', class: 'status', role: 'status' })
const resultPane = h('pre', {
  id: 'er-result',
  class: 'code result',
  tabindex: '0',
  'aria-labelledby': 'er-result-heading',
})

const searchInput = h('input', {
  id: 'er-docs-search',
  type: 'search',
  autocomplete: 'off',
  spellcheck: 'false',
  placeholder: 'Type or field name',
})
const docsMessage = h('p', { id: 'er-docs-message', class: 'status', role: 'status' })
const typeList = h('ul', { id: 'er-type-list', class: 'type-list' })
const typeListView = h(
  'div',
  { id: 'er-type-list-view' },
  h('nav', { 'aria-label': 'Types' }, typeList),
)
const typeDetail = h('section', { id: 'er-type-detail', class: 'type-detail', hidden: true })
const reloadButton = h('button', { type: 'button', class: 'small' }, 'Reload')
reloadButton.title = 'Fetch the schema again'
const docs = h(
  'aside',
  { id: 'er-docs', class: 'docs', 'aria-labelledby': 'er-docs-heading', hidden: true },
  h('div', { class: 'pane-head' }, h('h2', { id: 'er-docs-heading' }, 'Schema'), reloadButton),
  h('label', { for: 'er-docs-search' }, 'Search types'),
  searchInput,
  docsMessage,
  typeListView,
  typeDetail,
)

const panes = h(
  'main',
  { class: 'panes' },
  h(
    'section',
    { class: 'pane editors', 'aria-labelledby': 'er-request-heading' },
    h('h2', { id: 'er-request-heading', class: 'visually-hidden' }, 'Request'),
    h('label', { for: 'er-query' }, 'Query'),
    queryInput,
    h('p', { id: 'er-query-hint', class: 'hint' }, `${RUN_SHORTCUT} runs the operation.`),
    h('label', { for: 'er-variables' }, 'Variables (JSON)'),
    variablesInput,
    variablesError,
  ),
  h(
    'section',
    { class: 'pane' },
    h('div', { class: 'pane-head' }, h('h2', { id: 'er-result-heading' }, 'Response'), statusLine),
    resultPane,
  ),
  docs,
)

document.body.append(
  h(
    'header',
    { class: 'bar' },
    h('h1', {}, 'GraphQL explorer'),
    h('span', { class: 'endpoint' }, `POST ${endpoint}`),
    h(
      'div',
      { class: 'token' },
      h('label', { for: 'er-token' }, 'Authorization token'),
      tokenInput,
      h('span', { id: 'er-token-hint', class: 'visually-hidden' }, 'Kept in this tab only.'),
    ),
    h('div', { class: 'actions' }, runButton, docsButton),
  ),
  panes,
)

tokenInput.value = readStored(sessionStorage, TOKEN_KEY) ?? ''
queryInput.value = readStored(localStorage, QUERY_KEY) ?? DEFAULT_QUERY
variablesInput.value = readStored(localStorage, VARIABLES_KEY) ?? ''
variablesError.hidden = true

tokenInput.addEventListener('input', () =>
  writeStored(sessionStorage, TOKEN_KEY, tokenInput.value.trim()),
)
queryInput.addEventListener('input', () => writeStored(localStorage, QUERY_KEY, queryInput.value))
variablesInput.addEventListener('input', () => {
  writeStored(localStorage, VARIABLES_KEY, variablesInput.value)
  if (!variablesError.hidden) clearVariablesError()
})

// ---------------------------------------------------------------------------------------------
// Requests

/** Headers of every request: GraphQL over HTTP's media type first, JSON for older servers. */
function requestHeaders() {
  const headers = {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json, application/json',
  }
  // Accept a pasted "Bearer xyz" as well as the bare token.
  const token = tokenInput.value.trim().replace(/^Bearer\s+/i, '')
  if (token) headers.authorization = `Bearer ${token}`
  return headers
}

function postGraphql(body) {
  return fetch(endpoint, {
    method: 'POST',
    headers: requestHeaders(),
    body: JSON.stringify(body),
    credentials: 'same-origin',
  })
}

/**
 * The operations defined at the top level of a document, with where each starts. Strings and
 * comments are blanked first so that a `query` inside them is not taken for a definition.
 */
function findOperations(source) {
  const blanked = source.replace(/"""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*"|#[^\n]*/g, (match) =>
    ' '.repeat(match.length),
  )
  const definitions = []
  let depth = 0
  // Whether a keyword at the top level still waits for the `{` that opens its selection set.
  let awaitingBody = false
  const tokens = /[{}]|(?<![$\w])(query|mutation|subscription|fragment)\b\s*([_A-Za-z]\w*)?/g
  for (const token of blanked.matchAll(tokens)) {
    if (token[0] === '{') {
      // A top-level `{` with no keyword before it is the `{ … }` shorthand for an anonymous query.
      if (depth === 0 && !awaitingBody) definitions.push({ name: undefined, index: token.index })
      awaitingBody = false
      depth += 1
    } else if (token[0] === '}') {
      depth = Math.max(0, depth - 1)
    } else if (depth === 0) {
      const fragment = token[1] === 'fragment'
      definitions.push({ name: token[2], index: token.index, fragment })
      awaitingBody = true
    }
  }
  return definitions.filter((definition) => !definition.fragment)
}

/** With several operations, the one holding the cursor is run (the first when it is in none). */
function operationNameAt(source, cursor) {
  const operations = findOperations(source)
  if (operations.length < 2) return undefined
  const current = operations.filter((operation) => operation.index <= cursor).at(-1)
  return (current ?? operations[0]).name
}

function showVariablesError(message) {
  variablesError.textContent = message
  variablesError.hidden = false
  variablesInput.setAttribute('aria-invalid', 'true')
  statusLine.textContent = 'Not sent: fix the variables first.'
  statusLine.dataset.state = 'error'
}

function clearVariablesError() {
  variablesError.textContent = ''
  variablesError.hidden = true
  variablesInput.removeAttribute('aria-invalid')
}

/** The variables as an object, or an error message explaining why they are not one. */
function parseVariables(text) {
  if (!text.trim()) return { variables: undefined }
  let value
  try {
    value = JSON.parse(text)
  } catch (error) {
    return { error: `Variables are not valid JSON: ${error.message}` }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { error: 'Variables must be a JSON object, for example {"id": "1"}.' }
  }
  return { variables: value }
}

let running = false

async function runOperation() {
  if (running) return
  const query = queryInput.value
  const parsed = parseVariables(variablesInput.value)
  if (parsed.error) {
    showVariablesError(parsed.error)
    return
  }
  clearVariablesError()
  if (!query.trim()) {
    statusLine.textContent = 'Write an operation first.'
    statusLine.dataset.state = 'error'
    return
  }
  const body = { query }
  if (parsed.variables) body.variables = parsed.variables
  const operationName = operationNameAt(query, queryInput.selectionStart)
  if (operationName) body.operationName = operationName

  running = true
  runButton.disabled = true
  resultPane.setAttribute('aria-busy', 'true')
  statusLine.textContent = 'Running…'
  delete statusLine.dataset.state
  const started = performance.now()
  try {
    const response = await postGraphql(body)
    const text = await response.text()
    const elapsed = Math.round(performance.now() - started)
    const status = [response.status, response.statusText].filter(Boolean).join(' ')
    statusLine.textContent = `HTTP ${status} · ${elapsed} ms`
    statusLine.dataset.state = response.ok ? 'ok' : 'error'
    resultPane.textContent = prettyJson(text)
  } catch (error) {
    statusLine.textContent = 'Network error: the request did not complete.'
    statusLine.dataset.state = 'error'
    resultPane.textContent = String(error?.message ?? error)
  } finally {
    running = false
    runButton.disabled = false
    resultPane.removeAttribute('aria-busy')
  }
}

function prettyJson(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2)
  } catch {
    return text
  }
}

runButton.addEventListener('click', () => void runOperation())

// Ctrl+Enter (⌘+Enter on a Mac) runs from anywhere on the page, including inside the editors.
document.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey) && !event.isComposing) {
    event.preventDefault()
    void runOperation()
  }
})

// ---------------------------------------------------------------------------------------------
// Schema documentation

let schema
let schemaLoading

async function loadSchema() {
  docsMessage.textContent = 'Loading the schema…'
  delete docsMessage.dataset.state
  typeList.replaceChildren()
  try {
    const response = await postGraphql({
      query: INTROSPECTION_QUERY,
      operationName: 'ExplorerIntrospection',
    })
    const text = await response.text()
    let payload
    try {
      payload = JSON.parse(text)
    } catch {
      throw new Error(`HTTP ${response.status}: the answer is not JSON.`)
    }
    const found = payload?.data?.__schema
    if (!found) {
      const reason = payload?.errors?.[0]?.message ?? `HTTP ${response.status}`
      throw new Error(`The schema could not be read: ${reason}`)
    }
    schema = {
      roots: [found.queryType?.name, found.mutationType?.name, found.subscriptionType?.name].filter(
        Boolean,
      ),
      types: new Map(found.types.map((type) => [type.name, type])),
    }
    docsMessage.textContent = ''
    renderTypeList()
  } catch (error) {
    schema = undefined
    docsMessage.textContent = String(error?.message ?? error)
    docsMessage.dataset.state = 'error'
  }
}

function ensureSchema() {
  schemaLoading ??= loadSchema().finally(() => {
    if (!schema) schemaLoading = undefined
  })
  return schemaLoading
}

const KIND_LABELS = {
  OBJECT: 'type',
  INTERFACE: 'interface',
  UNION: 'union',
  ENUM: 'enum',
  INPUT_OBJECT: 'input',
  SCALAR: 'scalar',
}

/** Root types first, then the rest by name; introspection's own types only when searched for. */
function orderedTypes(search) {
  const term = search.trim().toLowerCase()
  const all = [...schema.types.values()]
  const matches = []
  for (const type of all) {
    if (type.name.startsWith('__') && !term.startsWith('__')) continue
    const fields = [...(type.fields ?? []), ...(type.inputFields ?? [])]
    const matchingFields = term
      ? fields.filter((field) => field.name.toLowerCase().includes(term)).map((field) => field.name)
      : []
    if (term && !type.name.toLowerCase().includes(term) && matchingFields.length === 0) continue
    matches.push({ type, matchingFields })
  }
  const rank = (name) => {
    const index = schema.roots.indexOf(name)
    return index === -1 ? schema.roots.length : index
  }
  return matches.sort(
    (a, b) => rank(a.type.name) - rank(b.type.name) || a.type.name.localeCompare(b.type.name),
  )
}

function renderTypeList() {
  if (!schema) return
  const matches = orderedTypes(searchInput.value)
  typeList.replaceChildren(
    ...matches.map(({ type, matchingFields }) =>
      h(
        'li',
        {},
        h(
          'button',
          {
            type: 'button',
            class: 'type-link',
            'data-type': type.name,
            onclick: () => showType(type.name),
          },
          h('span', { class: 'type-name' }, type.name),
          h('span', { class: 'kind' }, KIND_LABELS[type.kind] ?? type.kind.toLowerCase()),
        ),
        matchingFields.length > 0
          ? h('span', { class: 'hint' }, `fields: ${matchingFields.join(', ')}`)
          : null,
      ),
    ),
  )
  if (matches.length === 0) docsMessage.textContent = 'No type matches that search.'
  else if (docsMessage.dataset.state !== 'error') docsMessage.textContent = ''
}

/** `[Book!]!` with each named type a link to its documentation. */
function renderTypeRef(ref) {
  if (ref.kind === 'NON_NULL') return [...renderTypeRef(ref.ofType), '!']
  if (ref.kind === 'LIST') return ['[', ...renderTypeRef(ref.ofType), ']']
  return [
    h('button', { type: 'button', class: 'ref', onclick: () => showType(ref.name) }, ref.name),
  ]
}

function renderDescription(text) {
  return text ? h('p', { class: 'description' }, text) : null
}

function renderDeprecation(item) {
  if (!item.isDeprecated) return null
  return h(
    'p',
    { class: 'deprecated' },
    `Deprecated${item.deprecationReason ? `: ${item.deprecationReason}` : ''}`,
  )
}

function renderArgument(argument) {
  return h(
    'li',
    { class: 'argument' },
    h('span', { class: 'field-name' }, argument.name),
    ': ',
    ...renderTypeRef(argument.type),
    argument.defaultValue != null ? ` = ${argument.defaultValue}` : '',
    renderDescription(argument.description),
  )
}

function renderField(field) {
  return h(
    'li',
    { class: 'field', 'data-field': field.name },
    h(
      'div',
      { class: 'signature code' },
      h('span', { class: 'field-name' }, field.name),
      field.args?.length ? '(…)' : '',
      ': ',
      ...renderTypeRef(field.type),
      field.defaultValue != null ? ` = ${field.defaultValue}` : '',
    ),
    renderDescription(field.description),
    renderDeprecation(field),
    field.args?.length
      ? h(
          'div',
          { class: 'arguments' },
          h('span', { class: 'label' }, 'Arguments'),
          h('ul', { class: 'code' }, field.args.map(renderArgument)),
        )
      : null,
  )
}

function section(title, items) {
  if (!items || items.length === 0) return null
  return h('section', {}, h('h4', {}, title), h('ul', { class: 'fields' }, items))
}

function showType(name) {
  const type = schema?.types.get(name)
  if (!type) return
  const heading = h('h3', { tabindex: '-1' }, type.name)
  const parts = [
    h('button', { type: 'button', class: 'small back', onclick: showTypeList }, '← All types'),
    heading,
    h('p', { class: 'kind' }, KIND_LABELS[type.kind] ?? type.kind.toLowerCase()),
    renderDescription(type.description),
    section('Fields', type.fields?.map(renderField)),
    section('Input fields', type.inputFields?.map(renderField)),
    section(
      'Implements',
      type.interfaces?.map((ref) => h('li', { class: 'code' }, ...renderTypeRef(ref))),
    ),
    section(
      type.kind === 'INTERFACE' ? 'Implemented by' : 'Possible types',
      type.possibleTypes?.map((ref) => h('li', { class: 'code' }, ...renderTypeRef(ref))),
    ),
    section(
      'Values',
      type.enumValues?.map((value) =>
        h(
          'li',
          { class: 'field' },
          h('span', { class: 'field-name code' }, value.name),
          renderDescription(value.description),
          renderDeprecation(value),
        ),
      ),
    ),
  ]
  // Sections a type does not have are null; replaceChildren would print them as text.
  typeDetail.replaceChildren(...parts.filter((part) => part !== null && part !== undefined))
  typeListView.hidden = true
  typeDetail.hidden = false
  heading.focus()
}

function showTypeList() {
  typeDetail.hidden = true
  typeListView.hidden = false
  renderTypeList()
  searchInput.focus()
}

docsButton.addEventListener('click', () => {
  const open = docs.hidden
  docs.hidden = !open
  docsButton.setAttribute('aria-expanded', String(open))
  panes.classList.toggle('with-docs', open)
  if (open) {
    void ensureSchema()
    searchInput.focus()
  }
})

searchInput.addEventListener('input', () => {
  if (!typeDetail.hidden) {
    typeDetail.hidden = true
    typeListView.hidden = false
  }
  renderTypeList()
})

reloadButton.addEventListener('click', () => {
  schemaLoading = undefined
  typeDetail.hidden = true
  typeListView.hidden = false
  void ensureSchema()
})

// Each caller's schema shows what its rules could allow: a new token means other docs.
tokenInput.addEventListener('change', () => {
  schema = undefined
  schemaLoading = undefined
  typeDetail.hidden = true
  typeListView.hidden = false
  if (panes.classList.contains('with-docs')) void ensureSchema()
})
