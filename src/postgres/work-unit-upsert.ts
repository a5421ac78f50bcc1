import type { AddWorkUnitItem } from '../coordinate/api.js'
import { encodeData } from '../coordinate/cbor-data.js'
import { workUnitKeyId } from '../coordinate/data.js'
import { GoneError } from '../coordinate/errors.js'
import { validateWorkUnitItem, validateWorkUnitItems as validateItemList } from '../coordinate/request-validation.js'
import { isPgError } from './migrate.js'
import { type UnitColumns, SAVEPOINT_SQL, insertWorkUnitsSql, upsertWorkUnitsSql } from './sql/add-work-units.js'
import { bytea } from './sql/fragments.js'
import type { Executor, Store } from './store.js'

/** A unit ready to write: key bytes, encoded data and meta. */
export interface ValidWorkUnit {
  key: Buffer
  data: Buffer
  priority: number
  notBefore: Date | null
}

/**
 * Checks items and encodes their data. A key given twice keeps its last item, as repeated
 * addWorkUnit calls would (one statement may not touch a row twice).
 */
export function validateWorkUnitItems(items: readonly AddWorkUnitItem[], offset = 0): ValidWorkUnit[] {
  const byKey = new Map<string, ValidWorkUnit>()
  items.forEach((item, j) => {
    const i = offset + j
    const { key: keyBytes, data, priority, notBefore } = validateWorkUnitItem(item, i)
    const key = bytea(keyBytes)
    const id = workUnitKeyId(key)
    byKey.delete(id)
    byKey.set(id, { key, data: bytea(encodeData(data)), priority, notBefore })
  })
  return [...byKey.values()]
}

// Rows per statement: large enough that round trips stop mattering, small enough that one
// statement's parameter arrays stay a few megabytes and the next chunk's encoding overlaps
// the database's work on this one.
const CHUNK = 10_000

/**
 * Adds or updates many units, all or nothing: every chunk runs in one transaction and a bad
 * item anywhere rolls back what went before it. Chunk k+1 is validated and encoded while the
 * database inserts chunk k. Returns how many distinct units were written per chunk, summed.
 */
export async function writeWorkUnits(store: Store, specId: string, items: readonly AddWorkUnitItem[]): Promise<number> {
  validateItemList(items)
  if (items.length <= CHUNK) {
    const units = validateWorkUnitItems(items)
    if (units.length > 0) await insertOrUpsert(store, store.db, specId, units)
    return units.length
  }
  return store.transaction(async (trx) => {
    let written = 0
    let inFlight: Promise<void> = Promise.resolve()
    try {
      for (let start = 0; start < items.length; start += CHUNK) {
        const units = validateWorkUnitItems(items.slice(start, start + CHUNK), start)
        const columns = unitColumns(units)
        await inFlight
        inFlight = insertOrUpsert(store, trx, specId, units, columns)
        written += units.length
      }
    } finally {
      // Never leave a statement running on the transaction when a later chunk is rejected.
      await inFlight.catch(() => undefined)
    }
    await inFlight
    return written
  })
}

// A plain INSERT costs about half an upsert (no speculative insertion), and bulk loads are
// mostly new keys; when a key already exists the insert fails whole and the upsert runs.
async function insertOrUpsert(store: Store, executor: Executor, specId: string, units: readonly ValidWorkUnit[], columns?: UnitColumns): Promise<void> {
  const inTransaction = columns !== undefined
  if (inTransaction) await store.rows(SAVEPOINT_SQL.set, executor)
  try {
    const counted = await store.row(insertWorkUnitsSql(specId, columns ?? unitColumns(units)), executor)
    if (counted?.n === 0) throw new GoneError('Work spec')
    if (inTransaction) await store.rows(SAVEPOINT_SQL.release, executor)
  } catch (error) {
    if (!isPgError(error, '23505')) throw error
    if (inTransaction) await store.rows(SAVEPOINT_SQL.rollback, executor)
    await upsertWorkUnits(store, specId, units, executor)
  }
}

/** Upserts units into a spec in one statement (see upsertWorkUnitsSql). */
export function upsertWorkUnits(store: Store, specId: string, units: readonly ValidWorkUnit[], executor: Executor = store.db): Promise<{ id: string }[]> {
  return store.rows(upsertWorkUnitsSql(specId, unitColumns(units)), executor)
}

// Array literals built here rather than by the driver, so that for a bulk add they are built
// while the database is still busy with the previous chunk.
function unitColumns(units: readonly ValidWorkUnit[]): UnitColumns {
  const hex = (b: Buffer) => `"\\\\x${b.toString('hex')}"`
  return {
    names: `{${units.map((u) => hex(u.key)).join(',')}}`,
    datas: `{${units.map((u) => hex(u.data)).join(',')}}`,
    priorities: `{${units.map((u) => String(u.priority)).join(',')}}`,
    notBefores: `{${units.map((u) => (u.notBefore ? `"${u.notBefore.toISOString()}"` : 'NULL')).join(',')}}`,
  }
}
