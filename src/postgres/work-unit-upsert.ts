import { sql } from 'kysely'
import type { AddWorkUnitItem } from '../coordinate/api.js'
import { encodeData } from '../coordinate/cbor-data.js'
import { assertDataDict, describe } from '../coordinate/data.js'
import { InvalidInputError } from '../coordinate/errors.js'
import type { Executor, Store } from './store.js'
import { bytea } from './sql-fragments.js'
import { checkedKey } from './work-unit-key.js'

/** A unit ready to write: key bytes, encoded data and meta. */
export interface ValidWorkUnit {
  key: Uint8Array
  data: Buffer
  priority: number
  notBefore: Date | null
}

/**
 * Checks every item before anything is written, so one bad item rejects the whole call.
 * A key given twice keeps its last item, as repeated addWorkUnit calls would.
 */
export function validateWorkUnitItems(items: readonly AddWorkUnitItem[]): ValidWorkUnit[] {
  if (!Array.isArray(items)) throw new InvalidInputError(`work units must come as a list, not ${describe(items)}`)
  const byKey = new Map<string, ValidWorkUnit>()
  items.forEach((item, i) => {
    if (item === null || typeof item !== 'object') throw new InvalidInputError(`work unit ${i} is ${describe(item)}, not an item`)
    const key = checkedKey(item.key)
    const data = item.data ?? {}
    assertDataDict(data, `work unit ${i} data`)
    const priority = item.meta?.priority ?? 0
    if (typeof priority !== 'number' || !Number.isFinite(priority)) {
      throw new InvalidInputError(`work unit ${i} priority must be a finite number`)
    }
    const notBefore = item.meta?.notBefore ?? null
    if (notBefore !== null && !(notBefore instanceof Date && Number.isFinite(notBefore.getTime()))) {
      throw new InvalidInputError(`work unit ${i} notBefore must be a valid Date or null`)
    }
    const hex = Buffer.from(key).toString('hex')
    byKey.delete(hex)
    byKey.set(hex, { key, data: Buffer.from(encodeData(data)), priority, notBefore })
  })
  return [...byKey.values()]
}

// Rows per statement: large enough that round trips stop mattering, small enough that one
// statement's parameter arrays stay a few megabytes.
const CHUNK = 10_000

/**
 * Upserts units into a spec. A new key is inserted; an existing one gets the new data and meta,
 * and if it was finished or failed it becomes available again (its history stays); a pending
 * unit keeps running. Several chunks run in one transaction, so the call is all or nothing.
 */
export async function upsertWorkUnits(
  store: Store,
  specId: string,
  units: readonly ValidWorkUnit[],
  executor?: Executor,
): Promise<{ id: string }[]> {
  if (units.length <= CHUNK) return upsertChunk(store, executor ?? store.db, specId, units)
  const inChunks = async (trx: Executor) => {
    const ids: { id: string }[] = []
    for (let i = 0; i < units.length; i += CHUNK) ids.push(...(await upsertChunk(store, trx, specId, units.slice(i, i + CHUNK))))
    return ids
  }
  return executor ? inChunks(executor) : store.transaction(inChunks)
}

function upsertChunk(store: Store, executor: Executor, specId: string, units: readonly ValidWorkUnit[]): Promise<{ id: string }[]> {
  return store.rows(
    sql<{ id: string }>`
      INSERT INTO work_unit AS u (work_spec_id, name, data, priority, not_before)
      SELECT ${specId}, k.name, k.data, k.priority, k.not_before
      FROM unnest(${units.map((u) => bytea(u.key))}::bytea[], ${units.map((u) => u.data)}::bytea[],
                  ${units.map((u) => u.priority)}::double precision[], ${units.map((u) => u.notBefore)}::timestamptz[])
        AS k (name, data, priority, not_before)
      ON CONFLICT (work_spec_id, name) DO UPDATE SET
        data = EXCLUDED.data,
        priority = EXCLUDED.priority,
        not_before = EXCLUDED.not_before,
        version = u.version + 1,
        state = CASE WHEN u.state IN ('finished', 'failed') THEN 'available' ELSE u.state END,
        active_attempt_id = CASE WHEN u.state IN ('finished', 'failed') THEN NULL ELSE u.active_attempt_id END
      RETURNING id::text`,
    executor,
  )
}
