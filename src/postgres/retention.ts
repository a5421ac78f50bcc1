import { InvalidInputError } from '../coordinate/errors.js'
import { pruneExtraAttemptsSql, pruneOldAttemptsSql, pruneUnitsSql } from './sql/retention.js'
import type { Store } from './store.js'

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

/** Deletes old finished/failed units and old attempts as the policy says, in batches. */
export async function prune(store: Store, policy: RetentionPolicy): Promise<PruneResult> {
  const result: PruneResult = { workUnits: 0, attempts: 0 }
  const now = store.now().getTime()
  if (policy.finishedUnitsOlderThanMs !== undefined) {
    const cutoff = new Date(now - nonNegative(policy.finishedUnitsOlderThanMs))
    result.workUnits += await untilDone(() => store.rows(pruneUnitsSql(cutoff, BATCH)))
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
