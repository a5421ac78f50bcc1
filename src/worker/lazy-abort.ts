/**
 * An abort that makes its AbortSignal only when someone asks for it. Most handlers of short
 * units never read their signal, and making one per unit cost about 2 µs of a no-op unit's
 * 20 µs; an abort before the signal is made is remembered and shows on the signal it makes.
 */
export class LazyAbort {
  #controller: AbortController | undefined
  #aborted = false
  #reason: unknown

  /** The signal, made (already aborted, if abort() came first) on first use. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController()
      if (this.#aborted) this.#controller.abort(this.#reason)
    }
    return this.#controller.signal
  }

  /** Aborts the signal, now or when it is made; later calls change nothing. */
  abort(reason: unknown): void {
    if (this.#aborted) return
    this.#aborted = true
    this.#reason = reason
    this.#controller?.abort(reason)
  }
}
