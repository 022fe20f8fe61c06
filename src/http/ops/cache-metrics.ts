import { Counter, Gauge } from 'prom-client'
import type { ResponseCache } from '../../adapters/cache/cache.js'
import type { CacheOutcome } from '../rest/cached-reads.js'
import type { Metrics } from './metrics.js'

/**
 * The response cache's instruments, on this process:
 * - `er_response_cache_requests_total{outcome}`: record reads by `hit`, `miss` or `bypass`
 *   (not cacheable: `@now` rules, a version being re-read, cache off);
 * - `er_response_cache_hit_ratio`: hits / (hits + misses) since start;
 * - `er_response_cache_evictions_total` and `er_response_cache_entries` (the in-process LRU;
 *   Redis reports its own evictions in `INFO stats`).
 * Returns the function the read path reports each outcome to.
 */
export function registerCacheMetrics(
  metrics: Metrics,
  cache: ResponseCache | undefined,
): (outcome: CacheOutcome) => void {
  const { registry } = metrics
  const existing = registry.getSingleMetric('er_response_cache_requests_total')
  const requests =
    (existing as Counter<'outcome'> | undefined) ??
    new Counter({
      name: 'er_response_cache_requests_total',
      help: 'Record reads by response cache outcome (hit, miss, bypass).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    })
  let hits = 0
  let misses = 0
  if (!existing && cache) {
    new Gauge({
      name: 'er_response_cache_hit_ratio',
      help: 'Response cache hits over hits + misses since the process started.',
      registers: [registry],
      collect() {
        this.set(hits + misses === 0 ? 0 : hits / (hits + misses))
      },
    })
    new Counter({
      name: 'er_response_cache_evictions_total',
      help: 'Answers the in-process cache dropped to stay within ER_CACHE_MAX_BYTES.',
      registers: [registry],
      collect() {
        this.reset()
        this.inc(cache.evictions)
      },
    })
    new Gauge({
      name: 'er_response_cache_entries',
      help: 'Answers held by the in-process cache.',
      registers: [registry],
      collect() {
        this.set(cache.entries ?? 0)
      },
    })
  }
  const outcome = {
    hit: requests.labels('hit'),
    miss: requests.labels('miss'),
    bypass: requests.labels('bypass'),
  }
  return (result) => {
    if (result === 'hit') hits++
    else if (result === 'miss') misses++
    outcome[result].inc()
  }
}
