/**
 * An async mutex per key, for this process only: read-modify-write calls on one key run one
 * after the other, so they do not spend their compare-and-swap retries on each other. Other
 * processes are kept in line by the version check, not by this. A key's entry is dropped as
 * soon as its queue drains, so the map holds only keys with a call running (reva never prunes).
 */
export class KeyMutex {
  readonly #tails = new Map<string, Promise<void>>()

  /** Runs `fn` once every earlier call on `key` has settled; resolves or rejects as `fn` does. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve()
    let release!: () => void
    const mine = new Promise<void>((resolve) => {
      release = resolve
    })
    const tail = previous.then(() => mine)
    this.#tails.set(key, tail)
    await previous
    try {
      return await fn()
    } finally {
      release()
      if (this.#tails.get(key) === tail) this.#tails.delete(key)
    }
  }

  /** How many keys have a call running or waiting (for tests and metrics). */
  get size(): number {
    return this.#tails.size
  }
}
