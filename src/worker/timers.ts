import type { FakeClock } from '../coordinate/clock.js'

/** Where the worker runtime waits; injected so tests move time by hand. */
export interface Timers {
  /** Resolves after `ms`, or at once when `signal` aborts (it never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

/** Real timers. They are unref'd: a sleeping runtime alone does not keep the process alive. */
export const systemTimers: Timers = {
  sleep(ms, signal) {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve()
      const done = (): void => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(done, Math.max(0, ms))
      timer.unref()
      signal?.addEventListener('abort', done, { once: true })
    })
  },
}

interface Sleeper {
  due: number
  wake: () => void
}

/** Timers on a FakeClock: a sleep ends only when advance() moves the clock past it. */
export class ManualTimers implements Timers {
  readonly #clock: FakeClock
  #sleepers: Sleeper[] = []
  #waiters: { ms: number; resolve: () => void }[] = []

  constructor(clock: FakeClock) {
    this.#clock = clock
  }

  /** Resolves when the fake clock reaches now + ms (at once for ms ≤ 0), or when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted || ms <= 0) return resolve()
      const sleeper: Sleeper = {
        due: this.#clock.now().getTime() + Math.max(0, ms),
        wake: () => {
          this.#sleepers = this.#sleepers.filter((s) => s !== sleeper)
          signal?.removeEventListener('abort', sleeper.wake)
          resolve()
        },
      }
      this.#sleepers.push(sleeper)
      signal?.addEventListener('abort', sleeper.wake, { once: true })
      this.#waiters = this.#waiters.filter((waiter) => waiter.ms !== ms || (waiter.resolve(), false))
    })
  }

  /** How many sleeps are waiting. */
  get sleeping(): number {
    return this.#sleepers.length
  }

  /** Resolves at the next sleep of exactly `ms` (call it before the code that sleeps). */
  sleepRequested(ms: number): Promise<void> {
    return new Promise((resolve) => this.#waiters.push({ ms, resolve }))
  }

  /** Moves the clock forward and ends every sleep now due, earliest first. */
  advance(ms: number): void {
    this.#clock.advance(ms)
    const now = this.#clock.now().getTime()
    const due = this.#sleepers.filter((s) => s.due <= now).sort((a, b) => a.due - b.due)
    for (const sleeper of due) sleeper.wake()
  }
}
