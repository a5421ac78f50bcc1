/** Waits `ms` unless `signal` fires first; resolves either way. */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>

const realSleep: Sleep = (ms, signal) =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const timer = setTimeout(done, ms)
    timer.unref()
    signal.addEventListener('abort', done, { once: true })
    function done(): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
  })

/**
 * A global rate limit on refresh queries: `ratePerSecond` tokens a second, at most `burst`
 * saved up; every batch takes a token before its query. Time is a monotonic clock, not
 * the cache's Clock: the limit protects the database, which lives in real time.
 */
export class TokenBucket {
  readonly #rate: number
  readonly #burst: number
  readonly #now: () => number
  readonly #sleep: Sleep
  #tokens: number
  #last: number

  constructor(ratePerSecond: number, burst = Math.max(1, ratePerSecond), now: () => number = () => performance.now(), sleep: Sleep = realSleep) {
    if (!(ratePerSecond > 0)) throw new RangeError('a token bucket needs a positive rate')
    this.#rate = ratePerSecond
    this.#burst = Math.max(1, burst)
    this.#now = now
    this.#sleep = sleep
    this.#tokens = this.#burst
    this.#last = now()
  }

  /** Takes one token, waiting for it if need be; false if `signal` fired first (nothing taken). */
  async take(signal: AbortSignal): Promise<boolean> {
    for (;;) {
      if (signal.aborted) return false
      this.#refill()
      if (this.#tokens >= 1) {
        this.#tokens -= 1
        return true
      }
      await this.#sleep(((1 - this.#tokens) / this.#rate) * 1000, signal)
    }
  }

  /** Tokens available now (for tests). */
  get available(): number {
    this.#refill()
    return this.#tokens
  }

  #refill(): void {
    const now = this.#now()
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#rate)
    this.#last = now
  }
}
