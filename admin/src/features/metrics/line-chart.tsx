/** One series over time: `t` in ms since the epoch, `v` the value (null: no data then). */
export interface Series {
  points: { t: number; v: number | null }[]
}

const WIDTH = 600
const HEIGHT = 160
const PAD = { left: 48, right: 8, top: 10, bottom: 22 }

/**
 * A line chart in plain SVG (a chart library would cost more than the whole dashboard): the
 * last hour on the x axis, zero to a rounded maximum on the y axis. The SVG is an image with a
 * text summary for screen readers; the figure's caption names the metric and its unit.
 */
export function LineChart(props: {
  id: string
  title: string
  unit: string
  series: Series
  from: number
  to: number
  format?: (v: number) => string
}) {
  const { series, from, to } = props
  const format = props.format ?? ((v: number) => String(round(v)))
  const values = series.points.flatMap((p) => (p.v === null ? [] : [p.v]))
  const latest = [...series.points].reverse().find((p) => p.v !== null)?.v ?? null
  const peak = values.length > 0 ? Math.max(...values) : 0
  const top = niceCeiling(peak)
  const x = (t: number) =>
    PAD.left + ((t - from) / Math.max(1, to - from)) * (WIDTH - PAD.left - PAD.right)
  const y = (v: number) => HEIGHT - PAD.bottom - (v / top) * (HEIGHT - PAD.top - PAD.bottom)
  // A gap in the data (a restart, an idle p95) breaks the line instead of bridging it.
  const segments: string[] = []
  let current: string[] = []
  for (const p of series.points) {
    if (p.v === null || p.t < from) {
      if (current.length > 0) segments.push(current.join(' '))
      current = []
      continue
    }
    current.push(`${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`)
  }
  if (current.length > 0) segments.push(current.join(' '))
  const summary =
    latest === null
      ? `${props.title}: no data in the last hour`
      : `${props.title}: now ${format(latest)} ${props.unit}, peak ${format(peak)} ${props.unit} in the last hour`

  return (
    <figure className="chart" aria-labelledby={`${props.id}-caption`}>
      <figcaption id={`${props.id}-caption`}>
        <span className="chart-title">{props.title}</span>{' '}
        <span className="chart-now" data-testid={`${props.id}-now`}>
          {latest === null ? '–' : `${format(latest)} ${props.unit}`}
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={summary} id={props.id}>
        {[0, 0.5, 1].map((share) => (
          <g key={share}>
            <line
              x1={PAD.left}
              x2={WIDTH - PAD.right}
              y1={y(top * share)}
              y2={y(top * share)}
              className="grid"
            />
            <text x={PAD.left - 6} y={y(top * share) + 4} textAnchor="end" className="axis">
              {format(top * share)}
            </text>
          </g>
        ))}
        <text x={PAD.left} y={HEIGHT - 4} className="axis">
          −60 min
        </text>
        <text x={WIDTH - PAD.right} y={HEIGHT - 4} textAnchor="end" className="axis">
          now
        </text>
        {segments.map((points, i) =>
          points.includes(' ') ? (
            <polyline key={i} points={points} className="line" />
          ) : (
            <circle
              key={i}
              cx={points.split(',')[0]}
              cy={points.split(',')[1]}
              r={2.5}
              className="dot"
            />
          ),
        )}
      </svg>
    </figure>
  )
}

/** 1, 2 or 5 times a power of ten, at least `v` (and at least 1 so a flat zero line shows). */
function niceCeiling(v: number): number {
  if (v <= 0) return 1
  const power = 10 ** Math.floor(Math.log10(v))
  for (const step of [1, 2, 5, 10]) if (step * power >= v) return step * power
  return 10 * power
}

function round(v: number): number {
  return v >= 100 ? Math.round(v) : Math.round(v * 100) / 100
}
