/** The outcome of one call in a batch: its value, or the error that call alone gets. */
export type Settled<O> = { ok: true; value: O } | { ok: false; error: unknown }

/**
 * How many batch statements of one kind (the daemon's completions, a Store's claims) run at once.
 * With one, at max_jobs 100 (every connection always waiting on an update) each completion
 * queued behind the last and the loop ran slower than without batching; two kept the gain at
 * max_jobs 1 and beat the unbatched daemon at 100 (docs/design.md, "Where the daemon's time
 * went"); many would be a statement per request again.
 */
export const MAX_STATEMENTS_IN_FLIGHT = 2
/** How many requests go in one batch statement: far above what a few dozen connections or workers can have waiting. */
export const MAX_REQUESTS_PER_STATEMENT = 256

interface Waiting<I, O> {
  item: I
  resolve: (value: O) => void
  reject: (error: unknown) => void
}

/**
 * Gathers concurrent calls (from many connections or workers) into batches. At most
 * `maxInFlight` batches run at once; calls made while they run wait, and go together in the
 * next batch as soon as one returns. An idle coalescer sends a call at once, so a quiet process pays no added latency; a
 * busy one sends fewer, larger statements, each one round trip and one commit, instead of
 * queuing one statement per request on the pool and the WAL flush.
 */
export class Coalescer<I, O> {
  readonly #runBatch: (items: I[]) => Promise<Settled<O>[]>
  readonly #maxInFlight: number
  readonly #maxBatch: number
  #queue: Waiting<I, O>[] = []
  #inFlight = 0

  /**
   * `runBatch` answers each item of a batch (in order); if it throws, every call of the batch
   * gets that error.
   */
  constructor(runBatch: (items: I[]) => Promise<Settled<O>[]>, { maxInFlight, maxBatch }: { maxInFlight: number; maxBatch: number }) {
    this.#runBatch = runBatch
    this.#maxInFlight = maxInFlight
    this.#maxBatch = maxBatch
  }

  /** Runs one item, alone or in a batch with the calls waiting beside it. */
  call(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject })
      this.#pump()
    })
  }

  #pump(): void {
    while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch)
      this.#inFlight++
      void this.#run(batch)
    }
  }

  async #run(batch: Waiting<I, O>[]): Promise<void> {
    try {
      const results = await this.#runBatch(batch.map((waiting) => waiting.item))
      batch.forEach((waiting, i) => {
        const result = results[i]
        if (result === undefined) waiting.reject(new Error('a batch returned fewer results than it had calls'))
        else if (result.ok) waiting.resolve(result.value)
        else waiting.reject(result.error)
      })
    } catch (error) {
      for (const waiting of batch) waiting.reject(error)
    } finally {
      this.#inFlight--
      this.#pump()
    }
  }
}

/**
 * Runs `fn` for each item on its own and records how each ended: all at once when `together`,
 * else one after the other (items that must not race, such as two completions of one attempt).
 * What a batcher does when its shared statement failed for one item's reason.
 */
export async function settleEach<I, O>(items: readonly I[], fn: (item: I) => Promise<O>, together: boolean): Promise<Settled<O>[]> {
  if (together) return Promise.all(items.map((item) => settle(() => fn(item))))
  const results: Settled<O>[] = []
  for (const item of items) results.push(await settle(() => fn(item)))
  return results
}

/** Runs `fn` and records how it ended, so one call's failure stays that call's. */
export async function settle<O>(fn: () => Promise<O>): Promise<Settled<O>> {
  try {
    return { ok: true, value: await fn() }
  } catch (error) {
    return { ok: false, error }
  }
}
