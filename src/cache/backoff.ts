import { backoffDelay } from '../coordinate/backoff.js'

/** The first pause between compare-and-swap retries, and the longest (ms). */
const CAS_PAUSE_BASE_MS = 2
const CAS_PAUSE_MAX_MS = 100

/**
 * Waits before compare-and-swap retry number `retry` (1 for the first). Without a pause, a writer
 * whose next read-modify-write starts straight from its write-through snapshot can win every
 * race and starve a writer in another process; jitter breaks the lockstep.
 */
export function casPause(retry: number, random: () => number = Math.random): Promise<void> {
  const ms = backoffDelay(retry, CAS_PAUSE_BASE_MS, CAS_PAUSE_MAX_MS, random)
  return new Promise((resolve) => setTimeout(resolve, ms))
}
