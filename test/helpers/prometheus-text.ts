/**
 * A strict reader of the Prometheus text exposition format (0.0.4), to round-trip what
 * `/metrics` serves: every line must be a comment, a HELP/TYPE line or a valid sample.
 */
export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const LABEL = `([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"`
const SAMPLE = new RegExp(
  `^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*)?,?\\})? (\\S+)(?: -?\\d+)?$`,
)
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])

export function parsePrometheusText(text: string): {
  samples: Sample[]
  types: Map<string, string>
} {
  const samples: Sample[] = []
  const types = new Map<string, string>()
  text.split('\n').forEach((line, index) => {
    if (line === '') return
    const fail = (why: string) => {
      throw new Error(`line ${index + 1} ${why}: ${JSON.stringify(line)}`)
    }
    if (line.startsWith('#')) {
      const meta = new RegExp(`^# (HELP|TYPE) (${NAME}) ?(.*)$`).exec(line)
      if (!meta) return
      if (meta[1] === 'TYPE') {
        if (!TYPES.has(meta[3] as string)) fail('has an unknown type')
        if (types.has(meta[2] as string)) fail('repeats a TYPE')
        types.set(meta[2] as string, meta[3] as string)
      }
      return
    }
    const match = SAMPLE.exec(line)
    if (!match) return fail('is not a valid sample')
    const value = Number(
      match[match.length - 1]?.replace(/^\+Inf$/, 'Infinity').replace(/^-Inf$/, '-Infinity'),
    )
    if (Number.isNaN(value) && match[match.length - 1] !== 'NaN') fail('has a bad value')
    const labels: Record<string, string> = {}
    for (const pair of (match[2] ?? '').matchAll(new RegExp(LABEL, 'g'))) {
      labels[pair[1] as string] = (pair[2] as string).replace(/\\(.)/g, (_, c: string) =>
        c === 'n' ? '\n' : c,
      )
    }
    samples.push({ name: match[1] as string, labels, value })
  })
  return { samples, types }
}
