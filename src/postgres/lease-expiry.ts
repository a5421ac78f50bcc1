import { sql } from 'kysely'
import type { Store } from './store.js'

/**
 * Writes down what reads already derive: every pending attempt whose lease ended before now
 * (strictly) becomes expired and leaves its worker's active list, and its unit, if the attempt
 * was still the active one, becomes available. Limited to one spec when `specId` is given.
 */
export async function expireLeases(store: Store, specId?: string): Promise<number> {
  const now = store.now()
  const inSpec = specId === undefined ? sql`` : sql`AND work_spec_id = ${specId}`
  const row = await store.row(sql<{ n: number }>`
    WITH expired AS (
      UPDATE attempt SET status = 'expired', active = false, end_time = expiration_time
      WHERE status = 'pending' AND expiration_time < ${now} ${inSpec}
      RETURNING id, work_unit_id
    ), freed AS (
      UPDATE work_unit u SET state = 'available', active_attempt_id = NULL, lease_expires = NULL, version = nextval('version_seq')
      FROM expired e WHERE u.id = e.work_unit_id AND u.active_attempt_id = e.id
    )
    SELECT count(*)::integer AS n FROM expired`)
  return row?.n ?? 0
}
