import { backoffDelay } from '../coordinate/backoff.js'
import type { DataDict } from '../coordinate/data.js'
import { isLeaseGone } from '../coordinate/errors.js'
import type { RunningAttempt } from './running-attempt.js'
import type { Timers } from './timers.js'

/** How one attempt's handler ended, waiting to be written. */
export interface Completion {
  entry: RunningAttempt
  status: 'finished' | 'failed' | 'retried'
  data?: DataDict
  /** For 'retried': how long before the unit may run again (ms). */
  delayMs?: number
}

/** What the completer tells the runtime. */
export interface CompleterHost {
  readonly timers: Timers
  /** The completion is written. */
  written(completion: Completion): void
  /** The attempt was no longer ours: the result is dropped. */
  discarded(completion: Completion, why: string): void
  databaseError(during: string, error: unknown): void
}

const RETRY_BASE_MS = 100
const RETRY_MAX_MS = 10_000

/**
 * Writes results in batches: while one write is in flight the next results queue up and go
 * together in one completeAttempts call. A batch refused because one attempt was no longer
 * pending is split, so the others still land; a write that fails for want of the database is
 * retried with backoff until it lands, the lease turns out lost, or abandon() is called.
 */
export class Completer {
  readonly #host: CompleterHost
  #queue: Completion[] = []
  #flushing: Promise<void> | undefined
  #failures = 0
  #abandoned = false
  readonly #stop = new AbortController()

  constructor(host: CompleterHost) {
    this.#host = host
  }

  /** Results queued or being written. */
  get backlog(): number {
    return this.#queue.length
  }

  /** Queues a result and starts writing if nothing is in flight. */
  add(completion: Completion): void {
    this.#queue.push(completion)
    this.#flushing ??= this.#flush().finally(() => {
      this.#flushing = undefined
    })
  }

  /** Resolves when everything queued has been written or dropped. */
  async drained(): Promise<void> {
    while (this.#flushing) await this.#flushing
  }

  /** Stops retrying: whatever is still unwritten is left to its lease. */
  abandon(): void {
    this.#abandoned = true
    this.#stop.abort()
  }

  async #flush(): Promise<void> {
    // Handlers that end in the same turn (a prefetched batch of short units ends in one) go in
    // one write: started at once, the first result went alone and the rest in a second write.
    await new Promise((resolve) => setImmediate(resolve))
    while (this.#queue.length > 0 && !this.#abandoned) {
      const batch = this.#queue.splice(0)
      const unwritten = await this.#write(batch)
      if (unwritten.length === 0) {
        this.#failures = 0
        continue
      }
      this.#queue.unshift(...unwritten)
      this.#failures++
      await this.#host.timers.sleep(backoffDelay(this.#failures, RETRY_BASE_MS, RETRY_MAX_MS), this.#stop.signal)
    }
  }

  // Writes a batch; returns what must be tried again.
  async #write(batch: Completion[]): Promise<Completion[]> {
    const ends = batch.filter((c) => c.status !== 'retried')
    const retries = batch.filter((c) => c.status === 'retried')
    const again: Completion[] = []
    if (ends.length > 0) again.push(...(await this.#complete(ends)))
    const retried = await Promise.all(retries.map(async (c) => ((await this.#one(c)) ? [] : [c])))
    again.push(...retried.flat())
    return again
  }

  async #complete(ends: Completion[]): Promise<Completion[]> {
    const first = ends[0]
    if (!first) return []
    try {
      await first.entry.attempt.worker.namespace.completeAttempts(
        ends.map((c) => ({ attempt: c.entry.attempt, status: c.status as 'finished' | 'failed', data: c.data })),
      )
      for (const c of ends) this.#host.written(c)
      return []
    } catch (error) {
      if (!isLeaseGone(error)) {
        this.#host.databaseError('writing a result', error)
        return ends
      }
      if (ends.length === 1) return (await this.#one(first, error)) ? [] : [first]
      // One attempt in the batch is not ours any more; write the rest one by one.
      const results = await Promise.all(ends.map(async (c) => ((await this.#one(c)) ? [] : [c])))
      return results.flat()
    }
  }

  // Writes one result (or interprets the error of a write already tried); true when settled.
  async #one(c: Completion, earlier?: unknown): Promise<boolean> {
    let error = earlier
    if (error === undefined) {
      try {
        const { attempt } = c.entry
        if (c.status === 'retried') await attempt.retry(c.data, c.delayMs ?? 0)
        else await attempt.worker.namespace.completeAttempts([{ attempt, status: c.status, data: c.data }])
        this.#host.written(c)
        return true
      } catch (thrown) {
        error = thrown
      }
    }
    if (!isLeaseGone(error)) {
      this.#host.databaseError('writing a result', error)
      return false
    }
    // An earlier try may have committed before its connection failed: then the attempt
    // already has the status we meant to give it.
    if (this.#failures > 0 && (await this.#alreadyWritten(c))) {
      this.#host.written(c)
      return true
    }
    this.#host.discarded(c, 'the attempt was no longer pending when its result was written')
    return true
  }

  async #alreadyWritten(c: Completion): Promise<boolean> {
    const wanted = c.status === 'retried' ? 'retryable' : c.status
    try {
      return (await c.entry.attempt.status()) === wanted
    } catch {
      return false
    }
  }
}
