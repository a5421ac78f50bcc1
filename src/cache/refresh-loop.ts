import { DatabaseUnavailableError, NoSuchWorkSpecError } from '../coordinate/errors.js'

/** The name the refresh loop reports lost and regained database connections under. */
const REFRESH = 'cache refresh'
import type { CacheContext } from './cache-context.js'
import type { FetchTicket } from './snapshot-slot.js'
import { TokenBucket } from './token-bucket.js'
import { canonicalKey } from './unit-key.js'
import type { WorkSpecProxy } from './work-spec-proxy.js'
import type { WorkUnitProxy } from './work-unit-proxy.js'

/** An in-flight mark older than this many periods is presumed lost, so a lost batch cannot pin its units. */
const IN_FLIGHT_LIMIT_PERIODS = 5

/** Up to this share of a period is added to each wait, so processes started together drift apart. */
const PERIOD_JITTER = 0.1

interface Batch {
  spec: WorkSpecProxy
  units: WorkUnitProxy[]
  tickets: FetchTicket[]
}

/**
 * The auto-refresh loop. Every `resyncPeriodMs` a cycle:
 * drops the units whose forget() still stands; takes every tracked unit that is not terminal,
 * in flight, backing off or known missing; groups them by spec into batches of `batchSize`;
 * marks every unit of every batch in flight (the first included, so no batch is read twice); and reads each
 * batch with ONE workUnitSnapshots() query, at most `parallelism` at a time, each query taking a
 * token from a global bucket. Results go through each unit's snapshot rules, so a result older
 * than a local write is dropped. A failed batch backs its units off per name, exponentially with
 * jitter; it is never requeued within the cycle, so failures cannot build up a queue.
 *
 * Cycles never overlap, the timer is an unref'd setTimeout chain (a forgotten cache does not keep
 * the process alive), and no cycle, batch or timer callback can reject unhandled: failures are
 * counted in `refresh_errors_total` and the loop carries on.
 */
export class RefreshLoop {
  readonly #ctx: CacheContext
  readonly #bucket: TokenBucket
  readonly #abort = new AbortController()
  #tail: Promise<void> = Promise.resolve()
  #timer: NodeJS.Timeout | undefined
  #started = false
  #stopped = false

  constructor(ctx: CacheContext) {
    this.#ctx = ctx
    this.#bucket = new TokenBucket(ctx.options.refreshRatePerSecond)
  }

  /** Arms the timer (idempotent). */
  start(): void {
    if (this.#started || this.#stopped) return
    this.#started = true
    this.#arm()
  }

  /** Stops the timer, cuts short any wait for tokens, and waits for the cycle in flight (idempotent). */
  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    this.#abort.abort()
    await this.#tail
  }

  /** Runs one cycle after the one in flight, if any; resolves when it is done (never rejects). */
  runNow(): Promise<void> {
    const next = this.#tail.then(() => this.#cycle())
    this.#tail = next
    return next
  }

  /** Starts a cycle without waiting for it (after a resync). */
  kick(): void {
    void this.runNow()
  }

  /** Resolves once no cycle is running or queued. */
  async idle(): Promise<void> {
    let tail: Promise<void>
    do {
      tail = this.#tail
      await tail
    } while (tail !== this.#tail)
  }

  #arm(): void {
    if (this.#stopped) return
    const period = this.#ctx.options.resyncPeriodMs
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      void this.runNow().then(() => this.#arm())
    }, period * (1 + Math.random() * PERIOD_JITTER))
    this.#timer.unref()
  }

  async #cycle(): Promise<void> {
    if (this.#stopped) return
    const ctx = this.#ctx
    try {
      ctx.metrics.refreshCycles.inc()
      this.#dropForgotten()
      const now = ctx.now()
      const batches = this.#batches(now)
      await this.#runAll(batches)
    } catch {
      // A bug in the cycle itself: count it and let the next one try, rather than stop refreshing.
      ctx.metrics.refreshErrors.inc()
    }
  }

  // forget() takes effect here, and only on the very proxy that was forgotten and not handed out
  // again since: a name re-added meanwhile (a new proxy, or the same one handed out) stays.
  #dropForgotten(): void {
    const ctx = this.#ctx
    for (const unit of [...ctx.forgotten]) {
      ctx.forgotten.delete(unit)
      if (unit.forgotten && !unit.detached) ctx.units.delete(unit)
    }
  }

  #batches(now: number): Batch[] {
    const ctx = this.#ctx
    const { batchSize, resyncPeriodMs } = ctx.options
    const limit = resyncPeriodMs * IN_FLIGHT_LIMIT_PERIODS
    const bySpec = new Map<WorkSpecProxy, WorkUnitProxy[]>()
    for (const unit of ctx.units.values()) {
      if (!unit.refreshCandidate(now, limit)) continue
      const list = bySpec.get(unit.workSpec)
      if (list === undefined) bySpec.set(unit.workSpec, [unit])
      else list.push(unit)
    }
    const batches: Batch[] = []
    for (const [spec, units] of bySpec) {
      for (let start = 0; start < units.length; start += batchSize) {
        const chunk = units.slice(start, start + batchSize)
        // Every unit, the first of each batch included, is in flight from here.
        batches.push({ spec, units: chunk, tickets: chunk.map((unit) => unit.beginRefresh(now)) })
      }
    }
    return batches
  }

  async #runAll(batches: Batch[]): Promise<void> {
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < batches.length) {
        const batch = batches[next++]
        if (batch !== undefined) await this.#runBatch(batch)
      }
    }
    const workers = Math.min(this.#ctx.options.parallelism, batches.length)
    await Promise.all(Array.from({ length: workers }, worker))
  }

  async #runBatch(batch: Batch): Promise<void> {
    const ctx = this.#ctx
    try {
      if (!(await this.#bucket.take(this.#abort.signal))) return
      ctx.metrics.refreshQueries.inc()
      const started = performance.now()
      let snapshots
      try {
        snapshots = await batch.spec.fetchUnitSnapshots(batch.units.map((unit) => unit.key))
      } finally {
        ctx.metrics.refreshLatency.observe((performance.now() - started) / 1000)
      }
      ctx.health.ok(REFRESH)
      const completed = ctx.nextSeq()
      const byKey = new Map(snapshots.map((snapshot) => [canonicalKey(snapshot.key) ?? '', snapshot]))
      batch.units.forEach((unit, i) => {
        const ticket = batch.tickets[i]
        if (ticket !== undefined) unit.endRefresh(ticket, byKey.get(unit.canonicalKey), completed)
      })
    } catch (error) {
      if (error instanceof NoSuchWorkSpecError) {
        // The spec is gone, so its units are: that is an answer, not a failure to back off from.
        const completed = ctx.nextSeq()
        batch.units.forEach((unit, i) => {
          const ticket = batch.tickets[i]
          if (ticket !== undefined) unit.endRefresh(ticket, undefined, completed)
        })
        return
      }
      ctx.metrics.refreshErrors.inc()
      if (error instanceof DatabaseUnavailableError) ctx.health.lost(REFRESH, error)
      const now = ctx.now()
      for (const unit of batch.units) unit.refreshFailed(now)
    } finally {
      for (const unit of batch.units) unit.clearInFlight()
    }
  }
}
