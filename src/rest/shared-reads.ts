/**
 * Shares one computation among concurrent and closely following requests: a result younger than
 * `maxAgeMs` is reused, and a computation in flight is joined rather than repeated. Fifty open
 * dashboards reloading after the same change thus cost the database one query, not fifty.
 */
export class SharedReads<T> {
  readonly #entries = new Map<string, { promise: Promise<T>; at: number }>()

  constructor(
    private readonly maxAgeMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The result for `key`: a recent or running one, else a fresh `compute()`. */
  get(key: string, compute: () => Promise<T>): Promise<T> {
    const now = this.now()
    const entry = this.#entries.get(key)
    if (entry !== undefined && now - entry.at < this.maxAgeMs) return entry.promise
    const promise = compute()
    this.#entries.set(key, { promise, at: now })
    // Failures are not shared past the requests already waiting on them.
    promise.catch(() => {
      if (this.#entries.get(key)?.promise === promise) this.#entries.delete(key)
    })
    this.#prune(now)
    return promise
  }

  /**
   * Forgets every result, running ones too, so that later requests compute afresh. Called on
   * each change: a dashboard reloads because it heard of a change, and a result computed (or
   * started) before that change would show it the data it already has, with no further event to
   * make it look again. Requests already waiting keep what they asked for.
   */
  clear(): void {
    this.#entries.clear()
  }

  #prune(now: number): void {
    if (this.#entries.size < 256) return
    for (const [key, entry] of this.#entries) if (now - entry.at >= this.maxAgeMs) this.#entries.delete(key)
  }
}
