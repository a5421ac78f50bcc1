import { type RawBuilder, sql } from 'kysely'

// prune()'s deletes (src/postgres/retention.ts runs them in batches of `limit` until one
// comes back short).

/** Deletes finished and failed units whose final attempt ended before `cutoff`. */
export function pruneUnitsSql(cutoff: Date, limit: number): RawBuilder<unknown> {
  return sql`
        DELETE FROM work_unit WHERE id IN (
          SELECT u.id FROM work_unit u JOIN attempt a ON a.work_unit_id = u.id AND a.id = u.active_attempt_id
          WHERE u.state IN ('finished', 'failed') AND a.end_time < ${cutoff} LIMIT ${limit})
        RETURNING 1`
}

/** Deletes ended attempts, not their unit's active one, that ended before `cutoff`. */
export function pruneOldAttemptsSql(cutoff: Date, limit: number): RawBuilder<unknown> {
  return sql`
        DELETE FROM attempt WHERE (work_unit_id, id) IN (
          SELECT a.work_unit_id, a.id FROM attempt a JOIN work_unit u ON u.id = a.work_unit_id
          WHERE a.end_time < ${cutoff} AND a.status <> 'pending' AND u.active_attempt_id IS DISTINCT FROM a.id
          LIMIT ${limit})
        RETURNING 1`
}

/** Deletes each unit's ended, non-active attempts beyond the newest `keep`. */
export function pruneExtraAttemptsSql(keep: number, limit: number): RawBuilder<unknown> {
  return sql`
        DELETE FROM attempt WHERE (work_unit_id, id) IN (
          SELECT work_unit_id, id FROM (
            SELECT a.work_unit_id, a.id, row_number() OVER (PARTITION BY a.work_unit_id ORDER BY a.id DESC) AS rank
            FROM attempt a JOIN work_unit u ON u.id = a.work_unit_id
            WHERE a.status <> 'pending' AND u.active_attempt_id IS DISTINCT FROM a.id
          ) ranked WHERE rank > ${keep} LIMIT ${limit})
        RETURNING 1`
}
