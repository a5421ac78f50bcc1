import { LRUCache } from 'lru-cache'
import type { Attempt } from '../coordinate/api.js'
import { workUnitKeyId } from '../coordinate/data.js'
import { isLeaseGone } from '../coordinate/errors.js'

/**
 * The attempts get_work handed out, by (spec, key), so that the update_work_unit that usually
 * follows can act on its attempt directly instead of first asking the database for the unit's
 * active attempt: one round trip instead of two per unit. Only a hint: an attempt that is no
 * longer pending (its lease ran out, another worker took over) makes the caller fall back to
 * the general path, which reads the unit's current state.
 */
export class LeasedAttempts {
  readonly #attempts: LRUCache<string, Attempt>

  constructor(max = 100_000) {
    this.#attempts = new LRUCache({ max })
  }

  /** Remembers attempts just handed out. */
  remember(specName: string, attempts: readonly Attempt[]): void {
    for (const attempt of attempts) this.#attempts.set(entryKey(specName, attempt.workUnit.key), attempt)
  }

  /**
   * Runs `transition` on the remembered attempt of (spec, key). Returns true when it ran; false
   * when there was none, it is no longer pending, or `workerId` names another worker than the
   * one it was handed to, in which case the caller takes the general path. `keep` says whether
   * the attempt is still leased afterwards (a renewal).
   */
  async apply(
    specName: string,
    key: Uint8Array,
    workerId: string | undefined,
    transition: (attempt: Attempt) => Promise<void>,
    keep: boolean,
  ): Promise<boolean> {
    const id = entryKey(specName, key)
    const attempt = this.#attempts.get(id)
    if (attempt === undefined || (workerId !== undefined && workerId !== attempt.worker.name)) return false
    try {
      await transition(attempt)
    } catch (error) {
      this.#attempts.delete(id)
      if (isLeaseGone(error)) return false
      throw error
    }
    if (!keep) this.#attempts.delete(id)
    return true
  }

  /** Forgets the attempt of (spec, key), after the general path changed the unit. */
  forget(specName: string, key: Uint8Array): void {
    this.#attempts.delete(entryKey(specName, key))
  }
}

function entryKey(specName: string, key: Uint8Array): string {
  return `${specName}\u0000${workUnitKeyId(key)}`
}
