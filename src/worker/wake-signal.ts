import type { Timers } from './timers.js'

/**
 * Wakes the claim loops. A notification that arrives while nobody waits is kept, so news heard
 * during a claim that came back empty is not lost: the next wait returns at once.
 */
export class WakeSignal {
  #pending = false
  readonly #waiters = new Set<AbortController>()

  /** Wakes every waiter, or the next one to wait. */
  notify(): void {
    this.#pending = true
    for (const waiter of this.#waiters) waiter.abort()
  }

  /** Waits for a notification, for `timeoutMs`, or for `stop` to abort, whichever is first. */
  async wait(timers: Timers, timeoutMs: number, stop: AbortSignal): Promise<void> {
    if (this.#pending || stop.aborted) {
      this.#pending = false
      return
    }
    const controller = new AbortController()
    this.#waiters.add(controller)
    const onStop = (): void => controller.abort()
    stop.addEventListener('abort', onStop, { once: true })
    try {
      await timers.sleep(timeoutMs, controller.signal)
    } finally {
      stop.removeEventListener('abort', onStop)
      this.#waiters.delete(controller)
      this.#pending = false
    }
  }
}
