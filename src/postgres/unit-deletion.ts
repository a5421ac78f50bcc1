import type { Transaction } from 'kysely'
import type { WorkUnitQuery } from '../coordinate/api.js'
import { DeletionConflictError } from '../coordinate/errors.js'
import { isPgError } from './migrate.js'
import { type UnitSet, isEmptyUnitSet, lockAttemptsSql, lockLateAttemptsSql, lockUnitsSql } from './sql/lock-order.js'
import { deleteStillSelectedUnitsSql, unitsToDeleteSql } from './sql/unit-deletion.js'
import type { Store } from './store.js'

// Rounds after which a deletion gives up. A round is lost only when a claim lands between its
// attempt locks and its unit locks (milliseconds for a few units, longer for a whole spec) and
// another writer takes the new attempt before the deletion's next statement does: ten in a row
// say writers keep doing so, which the caller hears of rather than a deletion that never ends.
const MAX_ROUNDS = 10
const LOCK_NOT_AVAILABLE = '55P03'

/** One kind of deletion, as deleteInLockOrder runs it. */
export interface DeletionRound<U extends UnitSet> {
  /** The units to go (selected again each round); no ids means nothing to do. */
  select(trx: Transaction<unknown>): Promise<U>
  /** Locks taken after the attempts and before the units (a spec's row, for its destruction). */
  lockBetween?(trx: Transaction<unknown>): Promise<void>
  /** Deletes what is still to go, every lock held; returns how many rows it deleted. */
  remove(trx: Transaction<unknown>, units: U): Promise<number>
}

/**
 * Deletes units, and so their attempts, in a transaction, taking locks in the order every other
 * writer does (sql/lock-order.ts): the selected units' attempts, then the units, then
 * (lockLateAttemptsSql, without waiting) any attempt a claim made in between. When such an
 * attempt is held by another writer, the round's transaction rolls back, letting go of every
 * lock it took, and a new round starts from the selection; after MAX_ROUNDS such rounds it throws
 * DeletionConflictError, having deleted nothing. Returns what `remove` counted.
 */
export async function deleteInLockOrder<U extends UnitSet>(store: Store, round: DeletionRound<U>): Promise<number> {
  for (let n = 0; n < MAX_ROUNDS; n++) {
    try {
      return await store.transaction((trx) => deletionRound(store, trx, round))
    } catch (error) {
      if (!isPgError(error, LOCK_NOT_AVAILABLE)) throw error
    }
  }
  throw new DeletionConflictError(MAX_ROUNDS)
}

// One round: select, lock in order, delete; a late attempt another writer holds fails it with
// lock_not_available.
async function deletionRound<U extends UnitSet>(store: Store, trx: Transaction<unknown>, round: DeletionRound<U>): Promise<number> {
  const units = await round.select(trx)
  if (isEmptyUnitSet(units)) return 0
  await store.rows(lockAttemptsSql(units), trx)
  await round.lockBetween?.(trx)
  await store.rows(lockUnitsSql(units), trx)
  await store.rows(lockLateAttemptsSql(units), trx)
  return round.remove(trx, units)
}

/**
 * Deletes the units a query selects, with their attempts, in one transaction and in lock order
 * (deleteInLockOrder). Units that stop matching the query between selection and lock stay; the
 * count is of the units deleted. Throws DeletionConflictError, deleting nothing, when writers
 * keep taking new attempts of the selected units away from it.
 */
export async function deleteWorkUnitsInLockOrder(store: Store, specId: string, query: WorkUnitQuery, now: Date): Promise<number> {
  return deleteInLockOrder(store, {
    select: async (t) => (await store.rows(unitsToDeleteSql(specId, query, now), t)).map((unit) => unit.id),
    remove: async (t, units) => (await store.rows(deleteStillSelectedUnitsSql(specId, query, now, units), t)).length,
  })
}
