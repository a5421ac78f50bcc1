/**
 * How long to wait after `failures` consecutive failures (a cache refresh, a deadlock victim's
 * rerun, a worker's claim or write): `baseMs` doubled per failure, capped at `maxMs`, then
 * "equal jitter" (a random point in the upper half) so that callers which failed together do not
 * come back together and fail together again.
 */
export function backoffDelay(failures: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  if (failures <= 0) return 0
  // 2 ** 31 already dwarfs any sane cap; clamping the exponent keeps the product finite.
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 31))
  return ceiling / 2 + random() * (ceiling / 2)
}
