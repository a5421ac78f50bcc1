import { onTestFinished } from 'vitest'
import { type CacheCoordinate, type CacheOptions, cacheCoordinate } from '../../../src/cache/index.js'
import type { FakeClock } from '../../../src/coordinate/clock.js'
import type { PostgresCoordinate } from '../../../src/postgres/coordinate.js'
import { type CallLog, countingBackend } from './counting-backend.js'

/**
 * A cache over a counting wrapper of `backend`, closed (without the backend) when the calling
 * test ends: tests call this, and vitest never runs an afterAll registered inside a test.
 */
export function openCache(backend: PostgresCoordinate, clock: FakeClock, options: CacheOptions = {}): { cache: CacheCoordinate; log: CallLog } {
  const { coordinate, log } = countingBackend(backend)
  const cache = cacheCoordinate(coordinate, { clock, closeBackend: false, start: false, ...options })
  onTestFinished(() => cache.close())
  return { cache, log }
}

/** The value of a counter or gauge, summed over the label sets that match `labels`. */
export async function metricValue(metric: { get(): Promise<{ values: { value: number; labels: Record<string, string | number | undefined> }[] }> }, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await metric.get()
  let sum = 0
  for (const v of values) {
    if (Object.entries(labels).every(([k, want]) => v.labels[k] === want)) sum += v.value
  }
  return sum
}
