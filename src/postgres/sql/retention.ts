import { type RawBuilder, sql } from 'kysely'

// prune()'s deletes (src/postgres/retention.ts runs them in batches of `limit` until one
// comes back short; units in lock order, by deleteInLockOrder).

/** Up to `limit` finished and failed units whose final attempt ended before `cutoff`; locks nothing. */
export function unitsToPruneSql(cutoff: Date, limit: number): RawBuilder<{ id: string }> {
  return sql<{ id: string }>`
        SELECT u.id::text FROM work_unit u JOIN attempt a ON a.work_unit_id = u.id AND a.id = u.active_attempt_id
        WHERE ${prunable(cutoff)} LIMIT ${limit}`
}

/** Deletes those of these units that are still finished or failed with a final attempt ended before `cutoff`. */
export function pruneUnitsSql(cutoff: Date, ids: readonly string[]): RawBuilder<unknown> {
  return sql`
        DELETE FROM work_unit u USING attempt a
        WHERE u.id = ANY(${ids}::bigint[]) AND a.work_unit_id = u.id AND a.id = u.active_attempt_id AND ${prunable(cutoff)}
        RETURNING 1`
}

function prunable(cutoff: Date): RawBuilder<unknown> {
  return sql`u.state IN ('finished', 'failed') AND a.end_time < ${cutoff}`
}

/** Deletes ended attempts, not their unit's active one, that ended before `cutoff`. */
export function pruneOldAttemptsSql(cutoff: Date, limit: number): RawBuilder<unknown> {
  return deleteAttemptsInOrder(
    sql`
          SELECT a.work_unit_id, a.id FROM attempt a JOIN work_unit u ON u.id = a.work_unit_id
          WHERE a.end_time < ${cutoff} AND a.status <> 'pending' AND u.active_attempt_id IS DISTINCT FROM a.id`,
    limit,
  )
}

/** Deletes each unit's ended, non-active attempts beyond the newest `keep`. */
export function pruneExtraAttemptsSql(keep: number, limit: number): RawBuilder<unknown> {
  return deleteAttemptsInOrder(
    sql`
          SELECT work_unit_id, id FROM (
            SELECT a.work_unit_id, a.id, row_number() OVER (PARTITION BY a.work_unit_id ORDER BY a.id DESC) AS rank
            FROM attempt a JOIN work_unit u ON u.id = a.work_unit_id
            WHERE a.status <> 'pending' AND u.active_attempt_id IS DISTINCT FROM a.id
          ) ranked WHERE rank > ${keep}`,
    limit,
  )
}

// Up to `limit` of the attempts `chosen` selects (work_unit_id, id), locked in (unit, attempt)
// order before the delete takes them (sql/lock-order.ts): deleted in the order a scan met them,
// they could meet a unit deletion or completion batch taking the same attempts in that order.
function deleteAttemptsInOrder(chosen: RawBuilder<unknown>, limit: number): RawBuilder<unknown> {
  return sql`
        DELETE FROM attempt WHERE (work_unit_id, id) IN (
          SELECT x.work_unit_id, x.id FROM attempt x WHERE (x.work_unit_id, x.id) IN (${chosen})
          ORDER BY x.work_unit_id, x.id LIMIT ${limit} FOR UPDATE)
        RETURNING 1`
}
