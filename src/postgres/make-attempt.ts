import { GoneError, InvalidInputError, VersionConflictError } from '../coordinate/errors.js'
import { PostgresAttempt } from './attempt.js'
import { makeAttemptSql, unitVersionSql } from './sql/attempt.js'
import { lockAttemptsSql } from './sql/lock-order.js'
import type { PostgresWorkUnit } from './work-unit.js'
import type { PostgresWorker } from './worker.js'

/**
 * Creates a pending attempt on a unit, whatever its state, and makes it the unit's active
 * attempt; with `ifVersion`, only if the unit is still at that version when locked.
 */
export async function makeAttempt(worker: PostgresWorker, unit: PostgresWorkUnit, lifetimeMs: number, ifVersion?: number): Promise<PostgresAttempt> {
  if (typeof lifetimeMs !== 'number' || !Number.isFinite(lifetimeMs)) throw new InvalidInputError('a lease lifetime must be a finite number of ms')
  const store = worker.namespace.store
  const now = store.now()
  const expiration = new Date(now.getTime() + lifetimeMs)
  const row = await store.transaction(async (trx) => {
    // The unit's attempts before the unit, the order every writer takes them in (sql/lock-order.ts):
    // the attempt this one displaces may be finishing in a completion batch right now.
    await store.rows(lockAttemptsSql([unit.id]), trx)
    const made = await store.row(makeAttemptSql(unit.id, worker.id, now, expiration, ifVersion), trx)
    if (made || ifVersion === undefined) return made
    // Nothing made under a guard: the unit is gone, or moved on since the caller read it.
    const found = await store.row(unitVersionSql(unit.id), trx)
    if (found) throw new VersionConflictError(ifVersion, Number(found.version))
    return undefined
  })
  if (!row) throw new GoneError('Work unit')
  return new PostgresAttempt(row.id, unit, worker)
}
