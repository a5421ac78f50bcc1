import { backoffDelay } from '../cache/backoff.js'
import type { Clock } from '../coordinate/clock.js'
import type { DataDict } from '../coordinate/data.js'
import { type RunningAttempt, holdsLease, isLeaseGone } from './running-attempt.js'
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
 * Renews every held lease once per tick. The Coordinate interface renews one attempt per call,
 * so a tick sends the renewals concurrently rather than as one statement.
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

  /** Renews every held lease now; returns how many were renewed. */
  async renewAll(): Promise<number> {
    const host = this.#host
    const entries = [...host.held()].filter(holdsLease)
    const results = await Promise.all(entries.map((entry) => this.#renew(entry)))
    const renewed = results.filter((r) => r === 'renewed').length
    this.#failures = results.includes('database-error') ? this.#failures + 1 : 0
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

  async #renew(entry: RunningAttempt): Promise<'renewed' | 'lost' | 'database-error' | 'skipped'> {
    const host = this.#host
    try {
      await this.renewOne(entry)
      return 'renewed'
    } catch (error) {
      // A completion written while the renewal was in flight makes it fail; that is no loss.
      if (!holdsLease(entry) || entry.state === 'completing') return 'skipped'
      if (isLeaseGone(error)) {
        host.leaseLost(entry, 'renewal found another attempt on the unit or the lease ended')
        return 'lost'
      }
      host.databaseError('lease renewal', error)
      // Past the lease's end another worker may already run the unit: stop ours.
      if (host.clock.now().getTime() > entry.expiresAt) {
        host.leaseLost(entry, 'lease ran out while renewals failed')
        return 'lost'
      }
      return 'database-error'
    }
  }

  #nextDelay(): number {
    const every = this.#host.renewEveryMs
    const jittered = every * (0.9 + Math.random() * 0.2)
    if (this.#failures === 0) return jittered
    return Math.min(jittered, backoffDelay(this.#failures, RETRY_BASE_MS, every))
  }
}
