/** Where DatabaseHealth reports: pino's logger fits, and so does anything with these two methods. */
export interface HealthLogger {
  warn(fields: Record<string, unknown>, message: string): void
  info(fields: Record<string, unknown>, message: string): void
}

/**
 * Tracks, per connection user (the pool, the LISTEN connection, a cache), whether the database
 * is reachable, and logs each outage once: a warning when the first failure is seen, and an
 * info line with how long it lasted at the first success after it. Cheap on the success path
 * (one property read), since every statement reports to it.
 */
export class DatabaseHealth {
  readonly #logger: HealthLogger | undefined
  readonly #downSince = new Map<string, number>()
  #anyDown = false

  constructor(logger?: HealthLogger) {
    this.#logger = logger
  }

  /** `source` saw the database fail (connection refused or lost). */
  lost(source: string, error: unknown): void {
    if (this.#downSince.has(source)) return
    this.#downSince.set(source, Date.now())
    this.#anyDown = true
    this.#logger?.warn({ source, err: error }, 'database connection lost')
  }

  /** `source` reached the database; if it had lost it, logs the recovery and the outage length. */
  ok(source: string, detail?: Record<string, unknown>): void {
    if (!this.#anyDown) return
    const since = this.#downSince.get(source)
    if (since === undefined) return
    this.#downSince.delete(source)
    this.#anyDown = this.#downSince.size > 0
    this.#logger?.info({ source, outageMs: Date.now() - since, ...detail }, 'database connection recovered')
  }

  /** Whether `source` currently counts the database as lost. */
  isDown(source: string): boolean {
    return this.#downSince.has(source)
  }
}
