/** The small server-rendered pages (landing, e-mail links, first-run setup): one look, no framework. */

/** Where the pages' one script and one stylesheet are served (see `pageAssetRoutes`). */
export const PAGE_SCRIPT_URL = '/_pages/pages.js'
export const PAGE_STYLE_URL = '/_pages/pages.css'

/** Text escaped for an HTML attribute value or element content. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
}

/**
 * A whole page around `body` (markup the caller escaped). No inline script: behaviour lives in
 * {@link PAGE_SCRIPT_URL}, which reads what it needs from `data-*` attributes of `<body>`, so
 * the pages run under the server's `script-src 'self'`. `no-referrer` keeps the tokens these
 * pages handle out of any Referer header.
 *
 * @example
 *   pageHtml({ title: 'Verify your e-mail', page: 'verify', body: '<p>…</p>' })
 */
export function pageHtml(options: {
  title: string
  page: string
  body: string
  data?: Record<string, string>
}): string {
  const data = Object.entries(options.data ?? {})
    .map(([key, value]) => ` data-${key}="${escapeHtml(value)}"`)
    .join('')
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="referrer" content="no-referrer" />
    <title>${escapeHtml(options.title)} · Engine Room</title>
    <link rel="icon" href="data:," />
    <link rel="stylesheet" href="${PAGE_STYLE_URL}" />
    <script type="module" src="${PAGE_SCRIPT_URL}"></script>
  </head>
  <body data-page="${escapeHtml(options.page)}"${data}>
    <main>
      <h1>${escapeHtml(options.title)}</h1>
${options.body}
    </main>
  </body>
</html>
`
}
