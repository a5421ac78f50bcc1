import { type RawBuilder, sql } from 'kysely'
import type { AttemptStatus } from '../../coordinate/status.js'
import { activeAttemptIdSql, attemptStatusSql } from './fragments.js'

// Statements on attempt rows other than claims and completions (./claim.ts, ./complete.ts):
// reading, renewing, releasing, making one by hand, expiring leases. src/postgres/attempt.ts,
// work-unit.ts, worker.ts, make-attempt.ts and lease-expiry.ts run them.

/** The columns attemptFromRow() needs to build an attempt with its unit, spec and worker. */
export interface AttemptHandleRow {
  id: string
  unit_id: string
  unit_name: Uint8Array
  spec_id: string
  spec_name: string
  worker_id: string
  worker_name: string
}

// SELECT … FROM attempt a plus the joins that name its unit, spec and worker.
const ATTEMPT_HANDLE_SQL = sql`
  SELECT a.id::text, u.id::text AS unit_id, u.name AS unit_name, s.id::text AS spec_id, s.name AS spec_name,
         w.id::text AS worker_id, w.name AS worker_name
  FROM attempt a
  JOIN work_unit u ON u.id = a.work_unit_id
  JOIN work_spec s ON s.id = a.work_spec_id
  JOIN worker w ON w.id = a.worker_id`

/** The attempt that decides a unit's status at `now`, if any. */
export function activeAttemptHandleSql(unitId: string, now: Date): RawBuilder<AttemptHandleRow> {
  return sql<AttemptHandleRow>`
      ${ATTEMPT_HANDLE_SQL}
      WHERE a.id = (SELECT ${activeAttemptIdSql(now)} FROM work_unit u WHERE u.id = ${unitId})`
}

/** Every attempt on a unit, oldest first. */
export function unitAttemptHandlesSql(unitId: string): RawBuilder<AttemptHandleRow> {
  return sql<AttemptHandleRow>`${ATTEMPT_HANDLE_SQL} WHERE a.work_unit_id = ${unitId} ORDER BY a.id`
}

/** Which of a worker's attempts (or its children's) to list. */
export type WorkerAttempts = 'active' | 'all' | 'children'

/** A worker's active or all attempts, or its direct children's active ones, oldest first. */
export function workerAttemptHandlesSql(workerId: string, which: WorkerAttempts, now: Date): RawBuilder<AttemptHandleRow> {
  const where =
    which === 'all'
      ? sql`WHERE a.worker_id = ${workerId}`
      : which === 'active'
        ? sql`WHERE a.worker_id = ${workerId} AND a.active AND a.status = 'pending' AND a.expiration_time >= ${now}`
        : sql`WHERE w.parent_id = ${workerId} AND a.active AND a.status = 'pending' AND a.expiration_time >= ${now}`
  return sql<AttemptHandleRow>`${ATTEMPT_HANDLE_SQL} ${where} ORDER BY a.id`
}

/** An attempt as read at `now`: a pending attempt past its lease reads as expired, ended then. */
export interface AttemptRow {
  status: AttemptStatus
  data: Uint8Array
  start_time: Date
  end_time: Date | null
  expiration_time: Date
}

/** An attempt's fields at `now`. */
export function attemptSql(attemptId: string, now: Date): RawBuilder<AttemptRow> {
  return sql<AttemptRow>`
      SELECT ${attemptStatusSql(now)} AS status, COALESCE(a.data, u.data) AS data, a.start_time,
             CASE WHEN a.status = 'pending' AND a.expiration_time < ${now} THEN a.expiration_time ELSE a.end_time END AS end_time,
             a.expiration_time
      FROM attempt a JOIN work_unit u ON u.id = a.work_unit_id WHERE a.id = ${attemptId}`
}

/** The attempt's id if it exists (to tell "not pending" from "gone"). */
export function attemptExistsSql(attemptId: string): RawBuilder<{ id: string }> {
  return sql<{ id: string }>`SELECT id::text FROM attempt WHERE id = ${attemptId}`
}

/** How many of these attempts exist. */
export function countAttemptsSql(ids: readonly string[]): RawBuilder<{ n: number }> {
  return sql<{ n: number }>`SELECT count(*)::integer AS n FROM attempt WHERE id = ANY(${ids}::bigint[])`
}

/**
 * Extends a pending attempt's lease, if it is its unit's active attempt; otherwise records the
 * data and expires it. No row: the attempt was not pending.
 */
export function renewAttemptSql(attemptId: string, data: Buffer | null, now: Date, expiration: Date): RawBuilder<{ is_active: boolean }> {
  return sql<{ is_active: boolean }>`
      WITH target AS (
        SELECT a.id, a.work_unit_id, (u.active_attempt_id IS NOT DISTINCT FROM a.id) AS is_active
        FROM attempt a JOIN work_unit u ON u.id = a.work_unit_id
        WHERE a.id = ${attemptId} AND a.status = 'pending' AND a.expiration_time >= ${now}
        FOR UPDATE OF a, u
      ), renewed AS (
        UPDATE attempt SET
          data = COALESCE(${data}::bytea, attempt.data),
          expiration_time = CASE WHEN t.is_active THEN ${expiration}::timestamptz ELSE ${now}::timestamptz END,
          status = CASE WHEN t.is_active THEN 'pending' ELSE 'expired' END,
          active = t.is_active,
          end_time = CASE WHEN t.is_active THEN NULL ELSE ${now}::timestamptz END
        FROM target t WHERE attempt.id = t.id
        RETURNING t.is_active
      ), unit AS (
        UPDATE work_unit SET lease_expires = ${expiration}, version = nextval('version_seq')
        FROM target t WHERE work_unit.id = t.work_unit_id AND t.is_active
      )
      SELECT is_active FROM renewed`
}

/**
 * Ends a pending attempt without completing its unit; frees the unit only if this attempt is
 * its active one, so a stale attempt never clears another worker's lease. No row: the
 * attempt was not pending.
 */
export function releaseAttemptSql(
  attemptId: string,
  status: 'expired' | 'retryable',
  data: Buffer | null,
  now: Date,
  notBefore: Date | null,
): RawBuilder<{ id: string }> {
  return sql<{ id: string }>`
      WITH released AS (
        UPDATE attempt SET status = ${status}, end_time = ${now}, active = false,
          data = COALESCE(${data}::bytea, data)
        WHERE id = ${attemptId} AND status = 'pending' AND expiration_time >= ${now}
        RETURNING id, work_unit_id
      ), unit AS (
        UPDATE work_unit SET active_attempt_id = NULL, state = 'available', lease_expires = NULL,
          version = nextval('version_seq'),
          not_before = COALESCE(${notBefore}::timestamptz, not_before)
        FROM released r WHERE work_unit.id = r.work_unit_id AND work_unit.active_attempt_id = r.id
      )
      SELECT id::text FROM released`
}

/**
 * Creates a pending attempt on a unit whatever its state and makes it the active one. The unit
 * row is locked before the attempt is inserted: with no foreign key, that lock is what makes a
 * concurrent delete wait and then remove this attempt with its unit.
 */
export function makeAttemptSql(unitId: string, workerId: string, now: Date, expiration: Date): RawBuilder<{ id: string }> {
  return sql<{ id: string }>`
    WITH made AS (
      INSERT INTO attempt (work_unit_id, work_spec_id, worker_id, start_time, expiration_time)
      SELECT u.id, u.work_spec_id, ${workerId}, ${now}, ${expiration} FROM work_unit u WHERE u.id = ${unitId} FOR UPDATE
      RETURNING id, work_unit_id
    ), unit AS (
      UPDATE work_unit SET state = 'pending', active_attempt_id = made.id, lease_expires = ${expiration},
        version = nextval('version_seq')
      FROM made WHERE work_unit.id = made.work_unit_id
    )
    SELECT id::text FROM made`
}

/**
 * Expires every pending attempt whose lease ended before now (in one spec, or all) and frees
 * the units whose active attempt it was; counts the attempts.
 */
export function expireLeasesSql(now: Date, specId: string | undefined): RawBuilder<{ n: number }> {
  const inSpec = specId === undefined ? sql`` : sql`AND work_spec_id = ${specId}`
  return sql<{ n: number }>`
    WITH expired AS (
      UPDATE attempt SET status = 'expired', active = false, end_time = expiration_time
      WHERE status = 'pending' AND expiration_time < ${now} ${inSpec}
      RETURNING id, work_unit_id
    ), freed AS (
      UPDATE work_unit u SET state = 'available', active_attempt_id = NULL, lease_expires = NULL, version = nextval('version_seq')
      FROM expired e WHERE u.id = e.work_unit_id AND u.active_attempt_id = e.id
    )
    SELECT count(*)::integer AS n FROM expired`
}
