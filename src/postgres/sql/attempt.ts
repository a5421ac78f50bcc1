import { type RawBuilder, sql } from 'kysely'
import type { AttemptStatus } from '../../coordinate/status.js'
import { activeAttemptIdSql, attemptStatusSql } from './fragments.js'

// Statements on attempt rows other than claims, completions and renewals (./claim.ts, ./complete.ts, ./renew.ts):
// reading, releasing, making one by hand, expiring leases. src/postgres/attempt.ts,
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
      WHERE a.work_unit_id = ${unitId} AND a.id = (SELECT ${activeAttemptIdSql(now)} FROM work_unit u WHERE u.id = ${unitId})`
}

/** Every attempt on a unit, oldest first. */
export function unitAttemptHandlesSql(unitId: string): RawBuilder<AttemptHandleRow> {
  return sql<AttemptHandleRow>`${ATTEMPT_HANDLE_SQL} WHERE a.work_unit_id = ${unitId} ORDER BY a.id`
}

/** Which of a worker's attempts (or its children's) to list. */
export type WorkerAttempts = 'active' | 'all' | 'children'

/**
 * A worker's active or all attempts, or its direct children's active ones, oldest first. The
 * active lists walk the pending-lease index (as many entries as leases out): a worker index
 * cost every claim an index entry for a read that only the jobserver's child listing makes.
 */
export function workerAttemptHandlesSql(workerId: string, which: WorkerAttempts, now: Date): RawBuilder<AttemptHandleRow> {
  const where =
    which === 'all'
      ? sql`WHERE a.worker_id = ${workerId}`
      : which === 'active'
        ? sql`WHERE a.worker_id = ${workerId} AND a.status = 'pending' AND a.expiration_time >= ${now}`
        : sql`WHERE w.parent_id = ${workerId} AND a.status = 'pending' AND a.expiration_time >= ${now}`
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

// An attempt is found by its unit and its id together: attempt's primary key is
// (work_unit_id, id), so that the unit's history and the attempt itself share one index
// (migrations/0002_fewer_claim_writes.ts). Every statement here names both.

/** An attempt's fields at `now`. */
export function attemptSql(unitId: string, attemptId: string, now: Date): RawBuilder<AttemptRow> {
  return sql<AttemptRow>`
      SELECT ${attemptStatusSql(now)} AS status, COALESCE(a.data, u.data) AS data, a.start_time,
             CASE WHEN a.status = 'pending' AND a.expiration_time < ${now} THEN a.expiration_time ELSE a.end_time END AS end_time,
             a.expiration_time
      FROM attempt a JOIN work_unit u ON u.id = a.work_unit_id WHERE a.work_unit_id = ${unitId} AND a.id = ${attemptId}`
}

/** The attempt's id if it exists (to tell "not pending" from "gone"). */
export function attemptExistsSql(unitId: string, attemptId: string): RawBuilder<{ id: string }> {
  return sql<{ id: string }>`SELECT id::text FROM attempt WHERE work_unit_id = ${unitId} AND id = ${attemptId}`
}

/** How many of these attempts (their units' ids and theirs, in step) exist. */
export function countAttemptsSql(unitIds: readonly string[], ids: readonly string[]): RawBuilder<{ n: number }> {
  return sql<{ n: number }>`
    SELECT count(*)::integer AS n FROM unnest(${unitIds}::bigint[], ${ids}::bigint[]) AS i (unit_id, id)
    JOIN attempt a ON a.work_unit_id = i.unit_id AND a.id = i.id`
}

/**
 * Ends a pending attempt without completing its unit; frees the unit only if this attempt is
 * its active one, so a stale attempt never clears another worker's lease. No row: the
 * attempt was not pending.
 */
export function releaseAttemptSql(
  unitId: string,
  attemptId: string,
  status: 'expired' | 'retryable',
  data: Buffer | null,
  now: Date,
  notBefore: Date | null,
): RawBuilder<{ id: string }> {
  return sql<{ id: string }>`
      WITH released AS (
        UPDATE attempt SET status = ${status}, end_time = ${now},
          data = COALESCE(${data}::bytea, data)
        WHERE work_unit_id = ${unitId} AND id = ${attemptId} AND status = 'pending' AND expiration_time >= ${now}
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
 * concurrent delete wait and then remove this attempt with its unit. An attempt it displaces
 * that is still pending expires: it lost its lease, and left pending it could still finish, so
 * two workers would each be told they had finished the unit.
 */
export function makeAttemptSql(unitId: string, workerId: string, now: Date, expiration: Date, ifVersion?: number): RawBuilder<{ id: string }> {
  // Under FOR UPDATE a row changed meanwhile is checked again once its lock is ours, so the
  // guard compares with the version the attempt is made on.
  return sql<{ id: string }>`
    WITH locked AS (
      SELECT id, work_spec_id, active_attempt_id FROM work_unit
      WHERE id = ${unitId} AND (${ifVersion ?? null}::bigint IS NULL OR version = ${ifVersion ?? null}::bigint) FOR UPDATE
    ), displaced AS (
      UPDATE attempt a SET status = 'expired', end_time = LEAST(a.expiration_time, ${now})
      FROM locked l WHERE a.work_unit_id = l.id AND a.id = l.active_attempt_id AND a.status = 'pending'
    ), made AS (
      INSERT INTO attempt (work_unit_id, work_spec_id, worker_id, start_time, expiration_time)
      SELECT l.id, l.work_spec_id, ${workerId}, ${now}, ${expiration} FROM locked l
      RETURNING id, work_unit_id
    ), unit AS (
      UPDATE work_unit SET state = 'pending', active_attempt_id = made.id, lease_expires = ${expiration},
        version = nextval('version_seq')
      FROM made WHERE work_unit.id = made.work_unit_id
    )
    SELECT id::text FROM made`
}

/** A unit's version, or no row when it is gone. */
export function unitVersionSql(unitId: string): RawBuilder<{ version: string }> {
  return sql<{ version: string }>`SELECT version::text FROM work_unit WHERE id = ${unitId}`
}

/**
 * Expires every pending attempt whose lease ended before now (in one spec, or all) and frees
 * the units whose active attempt it was; counts the attempts. The attempts are locked in the
 * one lock order (lock-order.ts), skipping any another writer holds: that writer is finishing,
 * renewing or deleting it, and a lease still lapsed is expired by the next sweep.
 */
export function expireLeasesSql(now: Date, specId: string | undefined): RawBuilder<{ n: number }> {
  const inSpec = specId === undefined ? sql`` : sql`AND work_spec_id = ${specId}`
  return sql<{ n: number }>`
    WITH due AS (
      SELECT work_unit_id, id FROM attempt
      WHERE status = 'pending' AND expiration_time < ${now} ${inSpec}
      ORDER BY work_unit_id, id
      FOR UPDATE SKIP LOCKED
    ), expired AS (
      UPDATE attempt a SET status = 'expired', end_time = a.expiration_time
      FROM due d WHERE a.work_unit_id = d.work_unit_id AND a.id = d.id
      RETURNING a.id, a.work_unit_id
    ), freed AS (
      UPDATE work_unit u SET state = 'available', active_attempt_id = NULL, lease_expires = NULL, version = nextval('version_seq')
      FROM expired e WHERE u.id = e.work_unit_id AND u.active_attempt_id = e.id
    )
    SELECT count(*)::integer AS n FROM expired`
}
