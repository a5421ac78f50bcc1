import type { WorkUnitQuery } from '../coordinate/api.js'
import { lockAttemptsSql, lockUnitsSql } from './sql/lock-order.js'
import { deleteUnchangedUnitsSql, unitsToDeleteSql } from './sql/unit-deletion.js'
import type { Store } from './store.js'

// Rounds after which units still being claimed between selection and deletion are left alone:
// each round needs a whole claim to land in its few milliseconds for a unit to miss it.
const MAX_ROUNDS = 10

/**
 * Deletes the units a query selects, with their attempts, taking locks in the order every
 * other writer does: attempts first, then units (sql/lock-order.ts). One transaction; the
 * count is of the units deleted.
 */
export async function deleteWorkUnitsInLockOrder(store: Store, specId: string, query: WorkUnitQuery, now: Date): Promise<number> {
  return store.transaction(async (trx) => {
    let selected = await store.rows(unitsToDeleteSql(specId, query, now), trx)
    let deleted = 0
    for (let round = 1; selected.length > 0 && round <= MAX_ROUNDS; round++) {
      const ids = selected.map((unit) => unit.id)
      await store.rows(lockAttemptsSql(ids), trx)
      await store.rows(lockUnitsSql(ids), trx)
      const gone = new Set((await store.rows(deleteUnchangedUnitsSql(specId, query, now, selected), trx)).map((row) => row.id))
      deleted += gone.size
      const missed = selected.filter((unit) => !gone.has(unit.id)).map((unit) => unit.id)
      selected = missed.length === 0 ? [] : await store.rows(unitsToDeleteSql(specId, query, now, missed), trx)
    }
    return deleted
  })
}
