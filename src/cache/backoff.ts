/**
 * How long a name waits after `failures` consecutive failed refreshes: `baseMs` doubled per
 * failure, capped at `maxMs`, then "equal jitter" (a random point in the upper half) so that
 * names which failed together do not come back together and fail together again.
 */
export function backoffDelay(failures: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  if (failures <= 0) return 0
  // 2 ** 31 already dwarfs any sane cap; clamping the exponent keeps the product finite.
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 31))
  return ceiling / 2 + random() * (ceiling / 2)
}

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
