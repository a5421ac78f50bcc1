import { backoffDelay } from '../coordinate/backoff.js'
import type { RenewalOutcome } from '../coordinate/api.js'
import type { Clock } from '../coordinate/clock.js'
import type { DataDict } from '../coordinate/data.js'
import { type RunningAttempt, holdsLease } from './running-attempt.js'
import type { Timers } from './timers.js'

/** What the lease keeper needs from the runtime. */
export interface LeaseKeeperHost {
  readonly clock: Clock
  readonly timers: Timers
  readonly leaseMs: number
  /** Ms between renewal ticks before jitter. */
  readonly renewEveryMs: number
  /** The attempts held now. */
  held(): Iterable<RunningAttempt>
  /** The lease of this attempt is gone: abort its handler, drop its result. */
  leaseLost(entry: RunningAttempt, why: string): void
  renewed(count: number): void
  databaseError(during: string, error: unknown): void
}

// After a tick whose renewals failed for want of the database, the next comes sooner: from
// 1 s, doubling, never later than the normal tick.
const RETRY_BASE_MS = 1_000

/**
 * Renews every held lease once per tick, in one Namespace.renewAttempts call (one statement on
 * Postgres), and learns from its outcomes which leases were lost.
 */
export class LeaseKeeper {
  readonly #host: LeaseKeeperHost
  #failures = 0

  constructor(host: LeaseKeeperHost) {
    this.#host = host
  }

  /** Ticks until `stop` aborts. */
  async run(stop: AbortSignal): Promise<void> {
    while (!stop.aborted) {
      await this.#host.timers.sleep(this.#nextDelay(), stop)
      if (stop.aborted) return
      await this.renewAll()
    }
  }

  /** Renews every held lease now, in one call; returns how many were renewed. */
  async renewAll(): Promise<number> {
    const host = this.#host
    const entries = [...host.held()].filter(holdsLease)
    const first = entries[0]
    if (!first) {
      this.#failures = 0
      return 0
    }
    const startedAt = host.clock.now().getTime()
    let outcomes: RenewalOutcome[]
    try {
      outcomes = await first.attempt.worker.namespace.renewAttempts(entries.map((entry) => ({ attempt: entry.attempt, extendMs: host.leaseMs })))
    } catch (error) {
      this.#failures++
      host.databaseError('lease renewal', error)
      // Past the lease's end another worker may already run the unit: stop ours.
      for (const entry of entries) {
        if (holdsLease(entry) && host.clock.now().getTime() > entry.expiresAt) host.leaseLost(entry, 'lease ran out while renewals failed')
      }
      return 0
    }
    this.#failures = 0
    let renewed = 0
    entries.forEach((entry, i) => {
      if (outcomes[i] === 'renewed') {
        entry.expiresAt = Math.max(entry.expiresAt, startedAt + host.leaseMs)
        renewed++
      } else if (holdsLease(entry) && entry.state !== 'completing') {
        // A completion written while the renewal was in flight makes it fail; that is no loss.
        host.leaseLost(entry, `renewal found the lease gone (${outcomes[i] ?? 'no answer'})`)
      }
    })
    if (renewed > 0) host.renewed(renewed)
    return renewed
  }

  /** Extends one lease and, when `data` is given, replaces the attempt's data (progress). */
  async renewOne(entry: RunningAttempt, data?: DataDict): Promise<void> {
    const startedAt = this.#host.clock.now().getTime()
    await entry.attempt.renew(this.#host.leaseMs, data)
    entry.expiresAt = Math.max(entry.expiresAt, startedAt + this.#host.leaseMs)
    if (data !== undefined) entry.data = data
  }

  #nextDelay(): number {
    const every = this.#host.renewEveryMs
    const jittered = every * (0.9 + Math.random() * 0.2)
    if (this.#failures === 0) return jittered
    return Math.min(jittered, backoffDelay(this.#failures, RETRY_BASE_MS, every))
  }
}
