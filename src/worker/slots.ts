import type { RunningAttempt } from './running-attempt.js'

/**
 * Counts the handlers running, overall and per spec, and holds claimed units that wait for a
 * slot (at most `prefetch` of them). Claims are planned from it so that no more units are
 * leased than can run now or, with prefetch, as soon as a running handler ends.
 */
export class Slots {
  #running = 0
  readonly #runningBySpec = new Map<string, number>()
  readonly #queue: RunningAttempt[] = []
  /** Units asked for by claims still in flight: counted as queued until they arrive. */
  #reserved = 0

  constructor(
    private readonly concurrency: number,
    private readonly specLimits: ReadonlyMap<string, number>,
    private readonly prefetch: number,
  ) {}

  /** Handlers running now. */
  get running(): number {
    return this.#running
  }

  /** Claimed units waiting for a slot. */
  get queued(): number {
    return this.#queue.length
  }

  /** Takes a slot for the entry and returns true, or queues it and returns false. */
  admit(entry: RunningAttempt): boolean {
    if (this.#queue.length === 0 && this.#fits(entry.unit.workSpec)) {
      this.#take(entry.unit.workSpec)
      return true
    }
    this.#queue.push(entry)
    return false
  }

  /** Frees the entry's slot; returns the queued entries that now hold slots and may start. */
  release(entry: RunningAttempt): RunningAttempt[] {
    this.#running--
    this.#runningBySpec.set(entry.unit.workSpec, (this.#runningBySpec.get(entry.unit.workSpec) ?? 1) - 1)
    const starting: RunningAttempt[] = []
    // In place, with no copy of the queue: with prefetch it holds hundreds, and this runs per unit.
    for (let i = 0; i < this.#queue.length && this.#running < this.concurrency; ) {
      const waiting = this.#queue[i]!
      if (!this.#fits(waiting.unit.workSpec)) {
        i++
        continue
      }
      this.#take(waiting.unit.workSpec)
      this.#queue.splice(i, 1)
      starting.push(waiting)
    }
    return starting
  }

  /** Counts `count` units of a claim in flight against the room; the returned function ends that. */
  reserve(count: number): () => void {
    this.#reserved += count
    let done = false
    return () => {
      if (!done) this.#reserved -= count
      done = true
    }
  }

  /** Takes a queued entry out of the queue; false if it was not there. */
  dequeue(entry: RunningAttempt): boolean {
    const at = this.#queue.indexOf(entry)
    if (at < 0) return false
    this.#queue.splice(at, 1)
    return true
  }

  /** Empties the queue, returning what was in it. */
  drainQueue(): RunningAttempt[] {
    return this.#queue.splice(0)
  }

  /**
   * How many units to claim and from which specs; undefined when there is no room. A claim
   * takes all its units from one spec, so the count is the least room among the specs offered.
   */
  plan(specs: readonly string[]): { count: number; specs: string[] } | undefined {
    // With prefetch, the queue is topped up once it is half empty rather than after every unit:
    // one claim of hundreds costs the database far less than hundreds of claims of a few.
    if (this.prefetch > 0 && this.#queue.length > this.prefetch / 2) return undefined
    let count = this.concurrency + this.prefetch - this.#running - this.#queue.length - this.#reserved
    // Beside a claim in flight, another goes only when it is worth a round trip of its own.
    if (count <= 0 || (this.#reserved > 0 && count < this.prefetch / 4)) return undefined
    const open: string[] = []
    for (const spec of specs) {
      const limit = this.specLimits.get(spec)
      if (limit !== undefined) {
        const queued = this.#queue.filter((e) => e.unit.workSpec === spec).length
        // A claim in flight may bring units of any spec offered, so all of it counts here.
        const room = limit - (this.#runningBySpec.get(spec) ?? 0) - queued - this.#reserved
        if (room <= 0) continue
        count = Math.min(count, room)
      }
      open.push(spec)
    }
    return open.length === 0 ? undefined : { count, specs: open }
  }

  #fits(spec: string): boolean {
    const limit = this.specLimits.get(spec)
    return this.#running < this.concurrency && (limit === undefined || (this.#runningBySpec.get(spec) ?? 0) < limit)
  }

  #take(spec: string): void {
    this.#running++
    this.#runningBySpec.set(spec, (this.#runningBySpec.get(spec) ?? 0) + 1)
  }
}
