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
    this.#refreshIfStale(current.at)
    return current.value
  }

  /**
   * Like get(), but when nothing has been loaded yet waits at most `waitMs` for the first load
   * and then gives up with undefined (the load goes on): a scrape must not hang on a count
   * that takes longer than the scraper's timeout.
   */
  async getWithin(waitMs: number): Promise<T | undefined> {
    if (this.#value !== undefined) return this.get()
    let timer: NodeJS.Timeout | undefined
    const loading = this.#refresh()
    loading.catch(() => undefined)
    try {
      return await Promise.race([loading, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), waitMs)))])
    } finally {
      clearTimeout(timer)
    }
  }

  #refreshIfStale(loadedAt: number): void {
    const age = Date.now() - loadedAt
    if (age > Math.max(this.#maxAgeMs, this.#lastLoadMs * MAX_DUTY_CYCLE_INVERSE)) {
      // A failed background refresh keeps serving the last value; the next read tries again.
      this.#refresh().catch(() => undefined)
    }
  }

  /** Milliseconds since the value served was loaded (undefined before the first load). */
  ageMs(): number | undefined {
    return this.#value === undefined ? undefined : Date.now() - this.#value.at
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
