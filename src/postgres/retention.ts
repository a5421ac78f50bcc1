import { InvalidInputError } from '../coordinate/errors.js'
import { pruneExtraAttemptsSql, pruneOldAttemptsSql, pruneUnitsSql, unitsToPruneSql } from './sql/retention.js'
import type { Store } from './store.js'
import { deleteInLockOrder } from './unit-deletion.js'

/** What prune() removes; every field is optional and absent fields remove nothing. */
export interface RetentionPolicy {
  /** Delete finished and failed units whose final attempt ended longer ago than this (ms). */
  finishedUnitsOlderThanMs?: number
  /** Delete ended attempts that are not a unit's active attempt and ended longer ago than this (ms). */
  attemptsOlderThanMs?: number
  /** Keep at most this many ended, non-active attempts per unit (the newest). */
  keepAttemptsPerUnit?: number
}

/** How many rows prune() deleted. */
export interface PruneResult {
  workUnits: number
  attempts: number
}

// Deletes run in batches so a big backlog never holds long locks or one huge transaction.
const BATCH = 10_000

/**
 * Deletes old finished/failed units and old attempts as the policy says, in batches, each its
 * own transaction. A batch of units that writers keep taking new attempts of throws
 * DeletionConflictError, deleting nothing of that batch; the batches before it stay deleted.
 */
export async function prune(store: Store, policy: RetentionPolicy): Promise<PruneResult> {
  const result: PruneResult = { workUnits: 0, attempts: 0 }
  const now = store.now().getTime()
  if (policy.finishedUnitsOlderThanMs !== undefined) {
    const cutoff = new Date(now - nonNegative(policy.finishedUnitsOlderThanMs))
    result.workUnits += await pruneUnits(store, cutoff)
  }
  if (policy.attemptsOlderThanMs !== undefined) {
    const cutoff = new Date(now - nonNegative(policy.attemptsOlderThanMs))
    result.attempts += await untilDone(() => store.rows(pruneOldAttemptsSql(cutoff, BATCH)))
  }
  if (policy.keepAttemptsPerUnit !== undefined) {
    const keep = nonNegative(policy.keepAttemptsPerUnit)
    result.attempts += await untilDone(() => store.rows(pruneExtraAttemptsSql(keep, BATCH)))
  }
  return result
}

// A batch of units per transaction, each locked as a unit deletion locks them (attempts first):
// deleting the units outright would lock each unit before its attempts, by the trigger.
async function pruneUnits(store: Store, cutoff: Date): Promise<number> {
  let total = 0
  for (let selected = BATCH; selected === BATCH; ) {
    total += await deleteInLockOrder(store, {
      select: async (t) => {
        const ids = (await store.rows(unitsToPruneSql(cutoff, BATCH), t)).map((unit) => unit.id)
        selected = ids.length
        return ids
      },
      remove: async (t, ids) => (await store.rows(pruneUnitsSql(cutoff, ids), t)).length,
    })
  }
  return total
}

async function untilDone(batch: () => Promise<unknown[]>): Promise<number> {
  let total = 0
  for (;;) {
    const n = (await batch()).length
    total += n
    if (n < BATCH) return total
  }
}

function nonNegative(value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new InvalidInputError('retention limits must be non-negative numbers')
  return value
}
