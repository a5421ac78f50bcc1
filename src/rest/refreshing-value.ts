// How much slower than one load the refreshes are spaced at least: a load that takes 1 s runs
// at most every 20 s, so even at a scale where the grouped count is slow it costs the database
// at most a twentieth of one connection's time.
const MAX_DUTY_CYCLE_INVERSE = 20

/**
 * A value loaded by a query and shared by every reader. The first read waits for a load; with
 * get(), later reads get the last value at once and, when it is older than `maxAgeMs`, start one
 * refresh in the background (concurrent readers share it); getWithin() waits a bounded time for
 * that refresh instead. Loads are also spaced by at least
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
   * The value as fresh as `waitMs` allows: a value younger than `maxAgeMs` (or than the spacing
   * of refreshes) at once; otherwise waits at most `waitMs` for a refresh and, if it takes
   * longer, serves the last value (undefined before the first load; the load goes on). A
   * scrape thus gets counts read for it when counting is quick, and never hangs when it is not.
   */
  async getWithin(waitMs: number): Promise<T | undefined> {
    const current = this.#value
    if (current !== undefined && !this.#isStale(current.at)) return current.value
    let timer: NodeJS.Timeout | undefined
    const loading = this.#refresh()
    loading.catch(() => undefined)
    try {
      const fallback = new Promise<T | undefined>((resolve) => (timer = setTimeout(() => resolve(current?.value), waitMs)))
      // A failed refresh serves the last value too; the next read tries again.
      return await Promise.race([current === undefined ? loading : loading.catch(() => current.value), fallback])
    } finally {
      clearTimeout(timer)
    }
  }

  #isStale(loadedAt: number): boolean {
    return Date.now() - loadedAt > Math.max(this.#maxAgeMs, this.#lastLoadMs * MAX_DUTY_CYCLE_INVERSE)
  }

  #refreshIfStale(loadedAt: number): void {
    if (this.#isStale(loadedAt)) {
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
