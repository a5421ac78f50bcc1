/** Where DatabaseHealth reports: pino's logger fits, and so does anything with these two methods. */
export interface HealthLogger {
  warn(fields: Record<string, unknown>, message: string): void
  info(fields: Record<string, unknown>, message: string): void
}

/**
 * How long a source must keep succeeding before its recovery is logged. A restart terminates
 * the pool's connections one after another over a few ms, and statements on those not yet
 * terminated still succeed in between: without this, one restart logged a lost/recovered pair
 * per connection ("recovered after 0 ms") before the real outage.
 */
export const RECOVERY_SETTLE_MS = 1_000

interface Outage {
  since: number
  /** When the first success after the loss came; the recovery is logged RECOVERY_SETTLE_MS later. */
  recoveredAt?: number
  timer?: NodeJS.Timeout
}

/**
 * Tracks, per connection user (the pool, the LISTEN connection, a cache), whether the database
 * is reachable, and logs each outage once: a warning when the first failure is seen, and an
 * info line with how long it lasted once the first success after it has held for
 * RECOVERY_SETTLE_MS (a failure within that time continues the same outage). Cheap on the
 * success path (one property read), since every statement reports to it.
 */
export class DatabaseHealth {
  readonly #logger: HealthLogger | undefined
  readonly #outages = new Map<string, Outage>()
  #anyDown = false

  constructor(logger?: HealthLogger) {
    this.#logger = logger
  }

  /** `source` saw the database fail (connection refused or lost). */
  lost(source: string, error: unknown): void {
    const outage = this.#outages.get(source)
    if (outage !== undefined) {
      // Failing again before the recovery settled: the same outage goes on.
      clearTimeout(outage.timer)
      delete outage.recoveredAt
      delete outage.timer
      return
    }
    this.#outages.set(source, { since: Date.now() })
    this.#anyDown = true
    this.#logger?.warn({ source, err: error }, 'database connection lost')
  }

  /** `source` reached the database; if it had lost it, logs the recovery and the outage length once that holds. */
  ok(source: string, detail?: Record<string, unknown>): void {
    if (!this.#anyDown) return
    const outage = this.#outages.get(source)
    if (outage === undefined || outage.recoveredAt !== undefined) return
    const recoveredAt = Date.now()
    outage.recoveredAt = recoveredAt
    outage.timer = setTimeout(() => {
      this.#outages.delete(source)
      this.#anyDown = this.#outages.size > 0
      this.#logger?.info({ source, outageMs: recoveredAt - outage.since, ...detail }, 'database connection recovered')
    }, RECOVERY_SETTLE_MS)
    // A process may end while a recovery settles; the line is then simply not logged.
    outage.timer.unref()
  }

  /** Whether `source` currently counts the database as lost (a recovery still settling counts). */
  isDown(source: string): boolean {
    return this.#outages.has(source)
  }
}
