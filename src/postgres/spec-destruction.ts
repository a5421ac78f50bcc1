import { NoSuchWorkSpecError } from '../coordinate/errors.js'
import { deleteWorkSpecSql, lockWorkSpecSql, workSpecIdSql } from './sql/work-spec.js'
import type { Store } from './store.js'
import { deleteInLockOrder } from './unit-deletion.js'

/**
 * Deletes a spec with its units and their attempts, in one transaction (per round). Deleting the spec row
 * alone would let its triggers lock each unit before the unit's attempts, against the order of
 * every other writer (sql/lock-order.ts), so the locks come first, as a unit deletion takes them
 * (deleteInLockOrder): the spec's attempts, its row, its units. The row comes before the units
 * because adding units takes its key-share lock and then waits for a unit's lock on a key that
 * exists; after the attempts, because a completion that chains output into this spec holds its
 * attempts when it asks for that key-share lock. All in SQL: a spec's ids never reach Node.
 */
export async function destroyWorkSpecInLockOrder(store: Store, namespaceId: string, name: string): Promise<void> {
  const spec = await store.row(workSpecIdSql(namespaceId, name))
  if (!spec) throw new NoSuchWorkSpecError(name)
  const deleted = await deleteInLockOrder(store, {
    select: async () => ({ specId: spec.id }),
    lockBetween: async (t) => void (await store.rows(lockWorkSpecSql(spec.id), t)),
    remove: async (t) => (await store.rows(deleteWorkSpecSql(spec.id), t)).length,
  })
  if (deleted === 0) throw new NoSuchWorkSpecError(name)
}
