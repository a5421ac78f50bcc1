import type { Clock } from '../coordinate/clock.js'
import { GoneError } from '../coordinate/errors.js'

/**
 * The backend handle behind a name-identified proxy. Backend handles are bound to one row; the
 * proxy is bound to a name. A handle is looked up by name on first use (one lookup at a time),
 * again when it is older than `maxAgeMs` (so a name re-created elsewhere is found even with no
 * notifications), and again once when a call fails with GoneError, as go-coordinate's cache
 * does: if that second lookup fails, the caller gets the original GoneError.
 */
export class HandleSlot<T> {
  readonly #resolve: () => Promise<T>
  readonly #clock: Clock
  readonly #maxAgeMs: number
  #handle: T | undefined
  #resolvedAt = 0
  #pending: Promise<T> | undefined
  #resets = 0

  constructor(resolve: () => Promise<T>, clock: Clock, maxAgeMs: number, initial?: T) {
    this.#resolve = resolve
    this.#clock = clock
    this.#maxAgeMs = maxAgeMs
    if (initial !== undefined) this.set(initial)
  }

  /** The handle if one is held and young enough. */
  get current(): T | undefined {
    if (this.#handle === undefined) return undefined
    if (this.#clock.now().getTime() - this.#resolvedAt > this.#maxAgeMs) return undefined
    return this.#handle
  }

  /** Adopts a handle the backend just returned (it is as current as a lookup). */
  set(handle: T): void {
    this.#handle = handle
    this.#resolvedAt = this.#clock.now().getTime()
  }

  /** Forgets the handle; the next call looks the name up again. */
  reset(): void {
    this.#handle = undefined
    this.#pending = undefined
    this.#resets++
  }

  /** The handle, looked up by name if needed. */
  get(): Promise<T> {
    const current = this.current
    if (current !== undefined) return Promise.resolve(current)
    if (this.#pending !== undefined) return this.#pending
    const resets = this.#resets
    const pending = this.#resolve().then(
      (handle) => {
        // A reset while the lookup ran means it may have found what the reset was about.
        if (this.#resets === resets) this.set(handle)
        return handle
      },
    )
    const cleared = pending.finally(() => {
      if (this.#pending === cleared) this.#pending = undefined
    })
    this.#pending = cleared
    return cleared
  }

  /** Runs `op` on the handle; on GoneError looks the name up again and runs it once more. */
  async call<R>(op: (handle: T) => Promise<R>): Promise<R> {
    const handle = await this.get()
    try {
      return await op(handle)
    } catch (error) {
      if (!(error instanceof GoneError)) throw error
      if (this.#handle === handle) this.reset()
      let fresh: T
      try {
        fresh = await this.get()
      } catch {
        throw error
      }
      return op(fresh)
    }
  }
}
