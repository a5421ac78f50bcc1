// How much slower than one load the refreshes are spaced at least: a load that takes 1 s runs
// at most every 20 s, so even at a scale where the grouped count is slow it costs the database
// at most a twentieth of one connection's time.
const MAX_DUTY_CYCLE_INVERSE = 20

/**
 * A value loaded by an expensive query and shared by every reader. The first read waits for a
 * load; later reads get the last value at once and, when it is older than `maxAgeMs`, start one
 * refresh in the background (concurrent readers share it). Loads are also spaced by at least
 * twenty times the last load's duration, so a slow query cannot run back to back.
 */
export class RefreshingValue<T> {
  readonly #load: () => Promise<T>
  readonly #maxAgeMs: number
  #value: { value: T; at: number } | undefined
  #loading: Promise<T> | undefined
  #lastLoadMs = 0

  constructor(load: () => Promise<T>, maxAgeMs: number) {
    this.#load = load
    this.#maxAgeMs = maxAgeMs
  }

  /** The value: the last one loaded (refreshing it behind when stale), or the first load's. */
  async get(): Promise<T> {
    const current = this.#value
    if (current === undefined) return this.#refresh()
    const age = Date.now() - current.at
    if (age > Math.max(this.#maxAgeMs, this.#lastLoadMs * MAX_DUTY_CYCLE_INVERSE)) {
      // A failed background refresh keeps serving the last value; the next read tries again.
      this.#refresh().catch(() => undefined)
    }
    return current.value
  }

  /** Milliseconds since the value served was loaded (0 before the first load). */
  ageMs(): number {
    return this.#value === undefined ? 0 : Date.now() - this.#value.at
  }

  #refresh(): Promise<T> {
    this.#loading ??= (async () => {
      const started = Date.now()
      try {
        const value = await this.#load()
        this.#lastLoadMs = Date.now() - started
        // Stamped with the start: the counts are as of the query's snapshot, not its end.
        this.#value = { value, at: started }
        return value
      } finally {
        this.#loading = undefined
      }
    })()
    return this.#loading
  }
}
