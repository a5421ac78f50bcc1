import type { RawBuilder } from 'kysely'
import { decodeDataDict } from '../coordinate/cbor-data.js'
import type { DataDict } from '../coordinate/data.js'
import { ConflictError, GoneError } from '../coordinate/errors.js'
import { isPgError } from './migrate.js'
import { guardedUpdate } from './guarded-update.js'
import type { Store } from './store.js'
import { lockRowDataSql, lockTimeoutSql } from './sql/locked-update.js'

/** Turns a row's data into the next data; may be called with a row lock held. */
export type DataUpdateFn = (data: DataDict) => DataDict | Promise<DataDict>

/** What a locked update wrote. */
export interface LockedUpdateResult {
  data: DataDict
  version: number
}

/**
 * A handle whose data can be rewritten under a row lock. Not part of the Coordinate API: the
 * cache uses it, when its backend offers it, after a compare-and-swap conflict, so that writers
 * queue in the database instead of one of them losing every race.
 */
export interface LockedDataUpdate {
  /** Locks the row, runs `fn` on its data, writes the result, commits; ConflictError past `deadlineAt` (epoch ms). */
  updateDataLocked(fn: DataUpdateFn, deadlineAt: number): Promise<LockedUpdateResult>
}

/** Whether `handle` offers updateDataLocked(). */
export function canUpdateLocked(handle: object): handle is LockedDataUpdate {
  return typeof (handle as Partial<LockedDataUpdate>).updateDataLocked === 'function'
}

/**
 * SELECT … FOR UPDATE, `fn`, UPDATE, COMMIT in one transaction. Waiting for the lock is bounded
 * by lock_timeout and `fn` by a timer, both at `deadlineAt`; either running out rolls back and
 * throws ConflictError, so a caller whose `fn` keeps racing with its own writes still gets an
 * answer. `assignments` validates the new data and gives the SET clause.
 */
export async function lockedDataUpdate(
  store: Store,
  table: 'work_unit' | 'work_spec',
  id: string,
  what: string,
  fn: DataUpdateFn,
  deadlineAt: number,
  assignments: (data: DataDict) => RawBuilder<unknown>,
): Promise<LockedUpdateResult> {
  const conflict = (): ConflictError => new ConflictError(`${what.toLowerCase()} ${id}`)
  try {
    return await store.transaction(async (trx) => {
      await store.rows(lockTimeoutSql(remainingMs(deadlineAt)), trx)
      const row = await store.row(lockRowDataSql(table, id), trx)
      if (row === undefined) throw new GoneError(what)
      const next = await beforeDeadline(fn(decodeDataDict(row.data)), deadlineAt, conflict)
      const version = await guardedUpdate(store, table, id, assignments(next), { ifVersion: Number(row.version) }, what, trx)
      return { data: next, version }
    })
  } catch (error) {
    // lock_not_available: the row stayed locked by others until the deadline.
    if (isPgError(error, '55P03')) throw conflict()
    throw error
  }
}

// lock_timeout 0 would mean "wait forever"; at or past the deadline, wait the least possible.
function remainingMs(deadlineAt: number): number {
  return Math.max(1, Math.ceil(deadlineAt - Date.now()))
}

function beforeDeadline<T>(work: T | Promise<T>, deadlineAt: number, onTimeout: () => Error): Promise<T> {
  const promise = Promise.resolve(work)
  // A late rejection after the deadline has nobody left to hear it.
  promise.catch(() => undefined)
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), remainingMs(deadlineAt))
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
