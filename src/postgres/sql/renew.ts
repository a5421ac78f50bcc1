// The renewal statement: extends many leases at once, each with its own outcome, so the worker
// runtime renews everything it holds in one round trip per tick (src/postgres/renewal.ts runs it).

/** A row of RENEW_SQL: one per input attempt, in input order. */
export interface RenewRow {
  /** True: renewed. False: another attempt has the unit (data recorded, this one expired). Null: not renewed. */
  is_active: boolean | null
  /** Whether the attempt exists (tells "not pending" from "gone" when is_active is null). */
  found: boolean
}

/**
 * Parameters: the attempts' unit ids, attempt ids (an attempt is found by both: attempt's
 * primary key), data (null keeps the attempt's), new lease ends, now. A pending
 * attempt whose lease has not run out is extended if it is its unit's active attempt;
 * otherwise its data is recorded and it is expired, as a single renew does. Rows are locked in
 * id order so two renewals of overlapping sets cannot deadlock. Fixed text, so it runs as one
 * prepared statement per connection (Store.call).
 */
export const RENEW_SQL = `
  WITH input AS (
    SELECT i.unit_id, i.id, i.data, i.expiration, i.ord
    FROM unnest($1::bigint[], $2::bigint[], $3::bytea[], $4::timestamptz[]) WITH ORDINALITY AS i(unit_id, id, data, expiration, ord)
  ), target AS (
    SELECT a.id, a.work_unit_id, i.data, i.expiration, (u.active_attempt_id IS NOT DISTINCT FROM a.id) AS is_active
    FROM input i JOIN attempt a ON a.work_unit_id = i.unit_id AND a.id = i.id JOIN work_unit u ON u.id = a.work_unit_id
    WHERE a.status = 'pending' AND a.expiration_time >= $5
    -- The one lock order (lock-order.ts): by (unit, attempt), as a completion batch takes them.
    ORDER BY a.work_unit_id, a.id
    FOR UPDATE OF a, u
  ), renewed AS (
    UPDATE attempt SET
      data = COALESCE(t.data, attempt.data),
      expiration_time = CASE WHEN t.is_active THEN t.expiration ELSE $5::timestamptz END,
      status = CASE WHEN t.is_active THEN 'pending' ELSE 'expired' END,
      end_time = CASE WHEN t.is_active THEN NULL ELSE $5::timestamptz END
    FROM target t WHERE attempt.work_unit_id = t.work_unit_id AND attempt.id = t.id
    RETURNING t.id, t.is_active
  ), unit AS (
    UPDATE work_unit SET lease_expires = t.expiration, version = nextval('version_seq')
    FROM target t WHERE work_unit.id = t.work_unit_id AND t.is_active
  )
  SELECT r.is_active, (r.id IS NOT NULL OR EXISTS (SELECT 1 FROM attempt a WHERE a.work_unit_id = i.unit_id AND a.id = i.id)) AS found
  FROM input i LEFT JOIN renewed r ON r.id = i.id
  ORDER BY i.ord`
