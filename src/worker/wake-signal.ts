import type { Timers } from './timers.js'

/**
 * Wakes the claim loops. Each loop reads `heard` before it plans a claim and passes it to
 * wait(): news that came since (new work, a freed slot) makes the wait return at once, even if
 * another loop woke on the same news meanwhile. A flag one waiter cleared would leave the
 * other loop, whose claim came back empty, asleep for the whole poll interval.
 */
export class WakeSignal {
  #heard = 0
  readonly #waiters = new Set<AbortController>()

  /** How many notifications so far: a loop's mark to pass to wait(). */
  get heard(): number {
    return this.#heard
  }

  /** Wakes every waiter, and any loop whose mark is older. */
  notify(): void {
    this.#heard++
    for (const waiter of this.#waiters) waiter.abort()
  }

  /** Waits for a notification after mark `since`, for `timeoutMs`, or for `stop` to abort, whichever is first. */
  async wait(timers: Timers, timeoutMs: number, stop: AbortSignal, since: number): Promise<void> {
    if (this.#heard !== since || stop.aborted) return
    const controller = new AbortController()
    this.#waiters.add(controller)
    const onStop = (): void => controller.abort()
    stop.addEventListener('abort', onStop, { once: true })
    try {
      await timers.sleep(timeoutMs, controller.signal)
    } finally {
      stop.removeEventListener('abort', onStop)
      this.#waiters.delete(controller)
    }
  }
}
