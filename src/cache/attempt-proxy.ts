import type { Attempt } from '../coordinate/api.js'
import type { DataDict } from '../coordinate/data.js'
import type { AttemptStatus } from '../coordinate/status.js'
import type { WorkUnitProxy } from './work-unit-proxy.js'
import type { WorkerProxy } from './worker-proxy.js'
import { validateOptionalDataDict } from '../coordinate/validation.js'
import { validateRenewal, validateRetry } from '../coordinate/request-validation.js'

/**
 * An attempt handed out by the cache. Attempts are not cached (they are addressed by id and
 * read rarely); the point of the wrapper is that its unit and worker are the cache's proxies and
 * that every transition through it invalidates the unit's snapshot once it commits, so a read
 * right after finish() sees `finished` (read-your-writes, attempts included).
 */
export class AttemptProxy implements Attempt {
  readonly id: string
  readonly workUnit: WorkUnitProxy
  readonly worker: WorkerProxy
  readonly #attempt: Attempt

  /** @internal Made by NamespaceProxy only. */
  constructor(attempt: Attempt, workUnit: WorkUnitProxy, worker: WorkerProxy) {
    this.#attempt = attempt
    this.id = attempt.id
    this.workUnit = workUnit
    this.worker = worker
  }

  /** The claim's data, once (the backend's attempt holds it until then). */
  takeClaimData(): DataDict | undefined {
    return this.#attempt.takeClaimData()
  }

  /** @internal The backend's attempt, for calls that need it (completeAttempts). */
  get backend(): Attempt {
    return this.#attempt
  }

  /** The attempt's status now (not cached). */
  status(): Promise<AttemptStatus> {
    return this.#attempt.status()
  }

  /** The attempt's data (not cached). */
  data(): Promise<DataDict> {
    return this.#attempt.data()
  }

  /** When the attempt began. */
  startTime(): Promise<Date> {
    return this.#attempt.startTime()
  }

  /** When it ended, or null. */
  endTime(): Promise<Date | null> {
    return this.#attempt.endTime()
  }

  /** When its lease ends. */
  expirationTime(): Promise<Date> {
    return this.#attempt.expirationTime()
  }

  /** Extends the lease (moves the unit's lease_expires). */
  async renew(extendMs: number, data?: DataDict): Promise<void> {
    validateRenewal(extendMs, data)
    await this.#written(() => this.#attempt.renew(extendMs, data))
  }

  /** Gives the unit up. */
  async expire(data?: DataDict): Promise<void> {
    validateOptionalDataDict(data)
    await this.#written(() => this.#attempt.expire(data))
  }

  /** Finishes the unit; units it chains into the `then` spec are invalidated too. */
  async finish(data?: DataDict): Promise<void> {
    validateOptionalDataDict(data)
    try {
      await this.#written(() => this.#attempt.finish(data))
    } finally {
      // On an error too: a finish whose reply was lost after its commit chained its units all the same.
      await this.workUnit.workSpec.finished()
    }
  }

  /** Fails the unit. */
  async fail(data?: DataDict): Promise<void> {
    validateOptionalDataDict(data)
    await this.#written(() => this.#attempt.fail(data))
  }

  /** Gives the unit up to be retried later. */
  async retry(data?: DataDict, delayMs?: number): Promise<void> {
    validateRetry(data, delayMs)
    await this.#written(() => this.#attempt.retry(data, delayMs))
  }

  // The unit's snapshot is dropped whether the write succeeded or not: a write that failed with
  // the connection may still have committed, and a stale "pending" would then be served.
  async #written(write: () => Promise<void>): Promise<void> {
    try {
      await write()
    } finally {
      this.workUnit.wrote()
    }
  }
}
