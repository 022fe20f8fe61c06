/**
 * Salaries by city and by experience, drawn as plain SVG: a bar from the low to the high figure
 * of a range and a dot for a typical salary. The chart's size is fixed by its viewBox, so the
 * page does not move when it appears; a table with the same figures follows for screen readers
 * and for copying.
 */
import { er, money } from '../client.ts'
import { h, show, svg } from '../dom.ts'

interface Salary {
  id: string
  label: string
  dimension: 'overall' | 'location' | 'level'
  low?: number | null
  high?: number | null
  typical?: number | null
  currency?: string
}

const ROW = 34
const LEFT = 220
const WIDTH = 720
const STEP = 50_000

function chart(title: string, rows: Salary[], id: string): SVGSVGElement {
  const top = Math.max(...rows.flatMap((r) => [r.low ?? 0, r.high ?? 0, r.typical ?? 0]))
  // A figure with only a low end ("$250,000 and up") gets one more step to run into.
  const openEnded = (r: Salary) => r.low != null && r.high == null && r.typical == null
  const max = Math.max(STEP, Math.ceil(top / STEP) * STEP + (rows.some(openEnded) ? STEP : 0))
  const x = (value: number) => LEFT + ((WIDTH - LEFT - 20) * value) / max
  const height = rows.length * ROW + 30
  const ticks = Array.from({ length: max / STEP + 1 }, (_, i) => i * STEP)
  return svg(
    'svg',
    {
      viewBox: `0 0 ${WIDTH} ${height}`,
      role: 'img',
      'aria-labelledby': `${id}-title`,
      class: 'chart',
    },
    svg('title', { id: `${id}-title` }, title),
    ...ticks.map((t) =>
      svg(
        'g',
        { class: 'tick' },
        svg('line', { x1: x(t), x2: x(t), y1: 0, y2: rows.length * ROW }),
        svg(
          'text',
          { x: x(t), y: rows.length * ROW + 20, 'text-anchor': 'middle' },
          t === 0 ? '$0' : `$${t / 1000}k`,
        ),
      ),
    ),
    ...rows.map((row, i) => {
      const y = i * ROW + ROW / 2
      const low = row.low ?? row.high
      const high = openEnded(row) ? max : (row.high ?? row.low)
      return svg(
        'g',
        { class: 'row', 'data-id': row.id },
        svg('text', { x: LEFT - 10, y: y + 5, 'text-anchor': 'end' }, row.label),
        low != null && high != null
          ? svg('rect', {
              class: openEnded(row) ? 'range open' : 'range',
              x: x(low),
              y: y - 8,
              width: Math.max(4, x(high) - x(low)),
              height: 16,
              rx: 4,
            })
          : null,
        row.typical != null
          ? svg('circle', { class: 'typical', cx: x(row.typical), cy: y, r: 7 })
          : null,
      )
    }),
  )
}

function table(rows: Salary[], caption: string): HTMLTableElement {
  const cell = (value: number | null | undefined, currency = 'USD') =>
    h('td', {}, value == null ? '–' : money(value * 100, currency).replace(/\.00$/, ''))
  return h(
    'table',
    { class: 'figures' },
    h('caption', {}, caption),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['Where or who', 'Low', 'High', 'Typical'].map((t) => h('th', { scope: 'col' }, t)),
      ),
    ),
    h(
      'tbody',
      {},
      ...rows.map((r) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, r.label),
          cell(r.low, r.currency),
          cell(r.high, r.currency),
          cell(r.typical, r.currency),
        ),
      ),
    ),
  )
}

export async function renderSalaries(root: HTMLElement): Promise<void> {
  const page = await er.collection('salaries').list({ perPage: 100 })
  const rows = page.items as unknown as Salary[]
  const section = (dimension: Salary['dimension'], title: string, id: string) => {
    // Cheapest first: the levels read entry to principal, the cities low to high.
    const from = (r: Salary) => r.low ?? r.typical ?? r.high ?? 0
    const subset = rows.filter((r) => r.dimension === dimension).sort((a, b) => from(a) - from(b))
    return h(
      'section',
      { 'aria-labelledby': id },
      h('h2', { id }, title),
      chart(`${title}: salary ranges (bars) and typical salaries (dots), US dollars`, subset, id),
      h('details', {}, h('summary', {}, 'The figures'), table(subset, title)),
    )
  }
  show(
    root,
    h('h1', { tabindex: -1 }, 'Salaries'),
    h(
      'p',
      { class: 'legend' },
      h('span', { class: 'swatch range' }),
      ' a range from low to high   ',
      h('span', { class: 'swatch typical' }),
      ' a typical salary',
    ),
    section('location', 'By city', 'by-city'),
    section('level', 'By experience', 'by-level'),
  )
}
